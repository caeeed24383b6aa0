// The object-id pass of the mask (FrameCapture.WriteMask): each renderer drawn in its flat id
// (_RdhId, set per renderer through a property block), no lighting, no fog, both faces. Cutout and
// transparent materials keep their silhouette: the alpha of their main texture times their tint
// is clipped at _RdhCutoff (-1: opaque, nothing clipped; above 1: nothing drawn). Built-in render
// pipeline and URP (a pass without LightMode tag is drawn by URP as SRPDefaultUnlit).
Shader "Rdh/MaskUnlit"
{
    Properties
    {
        _MainTex ("Alpha source", 2D) = "white" {}
        _RdhAlpha ("Alpha factor", Float) = 1
        _RdhCutoff ("Alpha cutoff", Float) = -1
        _RdhId ("Object id (bytes / 255)", Vector) = (0, 0, 0, 1)
    }
    SubShader
    {
        Tags { "RenderType" = "Opaque" "Queue" = "Geometry" }
        Pass
        {
            Cull Off
            ZWrite On
            ZTest LEqual
            Blend Off

            CGPROGRAM
            #pragma vertex vert
            #pragma fragment frag
            #include "UnityCG.cginc"

            sampler2D _MainTex;
            float4 _MainTex_ST;
            float _RdhAlpha;
            float _RdhCutoff;
            float4 _RdhId;

            struct appdata { float4 vertex : POSITION; float2 uv : TEXCOORD0; };
            struct v2f { float4 pos : SV_POSITION; float2 uv : TEXCOORD0; };

            v2f vert (appdata v)
            {
                v2f o;
                o.pos = UnityObjectToClipPos(v.vertex);
                o.uv = TRANSFORM_TEX(v.uv, _MainTex);
                return o;
            }

            // float, not fixed: the id bytes must survive to the 8-bit target exactly.
            float4 frag (v2f i) : SV_Target
            {
                clip(tex2D(_MainTex, i.uv).a * _RdhAlpha - _RdhCutoff);
                return float4(_RdhId.rgb, 1);
            }
            ENDCG
        }
    }
}
