// The object-id pass of the mask (FrameCapture.WriteMask): each renderer drawn in its flat id
// (_RdhId, set per renderer through a property block), no lighting, no fog. Faces are culled as the
// source material culls them (_RdhCull, set from its _Cull; MaskRules.Cull). Cutout and transparent
// materials keep their silhouette: the alpha of their main texture times their tint is clipped at
// _RdhCutoff (-1: opaque, nothing clipped; above 1: nothing drawn).
// Two SubShaders. URP (RenderPipeline = UniversalPipeline): the id pass has no LightMode tag (URP
// draws it as SRPDefaultUnlit), and the DepthOnly and DepthNormals passes share its vertex transform
// and its clip, so that a depth prepass (depth priming, SSAO's depth-normals) writes exactly the
// depth the id pass then tests against with ZTest Equal, instead of skipping every id-shaded object.
// The built-in pipeline skips that SubShader (its RenderPipeline tag) and uses the second: the id
// pass alone, as an "Always" pass.
Shader "Rdh/MaskUnlit"
{
    Properties
    {
        _MainTex ("Alpha source", 2D) = "white" {}
        _RdhAlpha ("Alpha factor", Float) = 1
        _RdhCutoff ("Alpha cutoff", Float) = -1
        _RdhCull ("Cull mode (0 off, 1 front, 2 back)", Float) = 2
        _RdhId ("Object id (bytes / 255)", Vector) = (0, 0, 0, 1)
    }

    CGINCLUDE
    #include "UnityCG.cginc"

    sampler2D _MainTex;
    float4 _MainTex_ST;
    float _RdhAlpha;
    float _RdhCutoff;
    float4 _RdhId;

    struct appdata { float4 vertex : POSITION; float3 normal : NORMAL; float2 uv : TEXCOORD0; };
    struct v2f { float4 pos : SV_POSITION; float2 uv : TEXCOORD0; float3 normal : TEXCOORD1; };

    // One vertex transform for every pass: the prepass depth equals the id pass's depth.
    v2f vert (appdata v)
    {
        v2f o;
        o.pos = UnityObjectToClipPos(v.vertex);
        o.uv = TRANSFORM_TEX(v.uv, _MainTex);
        o.normal = UnityObjectToWorldNormal(v.normal);
        return o;
    }

    // One clip for every pass: the silhouette of the source material.
    void clipAlpha (v2f i)
    {
        clip(tex2D(_MainTex, i.uv).a * _RdhAlpha - _RdhCutoff);
    }

    // float, not fixed: the id bytes must survive to the 8-bit target exactly.
    float4 fragId (v2f i) : SV_Target
    {
        clipAlpha(i);
        return float4(_RdhId.rgb, 1);
    }

    float4 fragDepth (v2f i) : SV_Target
    {
        clipAlpha(i);
        return 0;
    }

    float4 fragDepthNormals (v2f i) : SV_Target
    {
        clipAlpha(i);
        return float4(normalize(i.normal), 0);
    }
    ENDCG

    SubShader
    {
        Tags { "RenderType" = "Opaque" "Queue" = "Geometry" "RenderPipeline" = "UniversalPipeline" }

        Pass
        {
            Name "RdhId"
            Cull [_RdhCull]
            ZWrite On
            ZTest LEqual
            Blend Off

            CGPROGRAM
            #pragma vertex vert
            #pragma fragment fragId
            ENDCG
        }

        Pass
        {
            Name "DepthOnly"
            Tags { "LightMode" = "DepthOnly" }
            Cull [_RdhCull]
            ZWrite On
            ColorMask 0

            CGPROGRAM
            #pragma vertex vert
            #pragma fragment fragDepth
            ENDCG
        }

        Pass
        {
            Name "DepthNormals"
            Tags { "LightMode" = "DepthNormals" }
            Cull [_RdhCull]
            ZWrite On

            CGPROGRAM
            #pragma vertex vert
            #pragma fragment fragDepthNormals
            ENDCG
        }
    }

    SubShader
    {
        Tags { "RenderType" = "Opaque" "Queue" = "Geometry" }

        Pass
        {
            Name "RdhId"
            Cull [_RdhCull]
            ZWrite On
            ZTest LEqual
            Blend Off

            CGPROGRAM
            #pragma vertex vert
            #pragma fragment fragId
            ENDCG
        }
    }
}
