using System;
using System.Collections.Generic;
using System.IO;
using UnityEngine;
using Object = UnityEngine.Object;

namespace Rdh.Capture
{
    /// <summary>How the mask pass treats what is not the foreground (CaptureAgent's Mask settings).</summary>
    [Serializable]
    public class MaskSettings
    {
        [Tooltip("Layers whose objects can hide the foreground. Objects on other layers are left out of the mask pass. The capture camera's culling mask applies on top.")]
        public LayerMask occluderLayers = ~0;

        [Tooltip("Occluders on these layers keep their own materials in the mask pass (vertex-animated foliage, custom shaders): they hide the foreground as drawn in the image.")]
        public LayerMask ownMaterialLayers = 0;

        [Tooltip("Particles, trails, lines and VFX graphs hide the foreground. Off: they are left out of the mask pass (rain, snow, smoke, sparks).")]
        public bool effectsOcclude = false;

        [Tooltip("Transparent occluders (glass, water, windows) hide the foreground where their alpha reaches Transparent Alpha Cutoff. Off: the foreground shows through them.")]
        public bool transparentOccludes = false;

        [Tooltip("A pixel of a transparent material (hair cards, glass) counts as covered where its alpha is at least this.")]
        [Range(0.01f, 1f)]
        public float transparentAlphaCutoff = 0.5f;

        [Tooltip("Shaders (their name, or a part of it) that draw both faces without saying so in a _Cull property (foliage, cards, fences): the id pass draws both faces of their materials too. Others are culled as their material's _Cull says, or back faces.")]
        public List<string> twoSidedShaders = new List<string>();

        [Tooltip("URP: index, in the URP asset's Renderer List, of a renderer with no renderer features and Depth Priming Mode Disabled that draws the id passes (docs/unity.md). -1: the default renderer, with the features of the renderers under Urp Features Off switched off; the self-check at hello says whether anything still touches the mask.")]
        public int urpMaskRenderer = -1;
#if RDH_URP

        [Tooltip("URP: renderers (their Universal Renderer Data assets) whose renderer features are switched off while the id passes render, and switched back on afterwards. For projects that cannot give the mask a renderer of its own.")]
        public List<UnityEngine.Rendering.Universal.ScriptableRendererData> urpFeaturesOff =
            new List<UnityEngine.Rendering.Universal.ScriptableRendererData>();
#endif
    }

    /// <summary>The mask written and how far its two id passes agreed.</summary>
    public struct MaskResult
    {
        public int foregroundPixels;
        public int disagreeingPixels;   // pixels whose id changed between the passes other than the foreground's
    }

    /// <summary>
    /// Renders the capture camera into PNG files: the image as the camera sees it, and the exact
    /// binary mask of the foreground (255 where it is visible, 0 elsewhere) from an object-id pass
    /// (see <see cref="MaskIds"/>) drawn by a <see cref="MaskCamera"/>; MaskRules decides what each
    /// renderer does in it.
    /// </summary>
    public static class FrameCapture
    {
        static readonly int IdProperty = Shader.PropertyToID("_RdhId");
        static readonly int AlphaProperty = Shader.PropertyToID("_RdhAlpha");
        static readonly int CutoffProperty = Shader.PropertyToID("_RdhCutoff");
        static readonly int CullProperty = Shader.PropertyToID("_RdhCull");
        static readonly int MainTexProperty = Shader.PropertyToID("_MainTex");
        const float Opaque = -1f;       // _RdhCutoff that clips nothing
        const float Invisible = 2f;     // _RdhCutoff that clips everything

        /// <summary>Render <paramref name="camera"/> at width x height and write an 8-bit RGB PNG.</summary>
        public static void WriteImage(Camera camera, int width, int height, string path)
        {
            // sRGB target: the PNG holds what the screen would show, in linear and gamma projects alike.
            var rt = RenderTexture.GetTemporary(width, height, 24, RenderTextureFormat.ARGB32,
                RenderTextureReadWrite.sRGB, Mathf.Max(1, QualitySettings.antiAliasing));
            try
            {
                camera.aspect = (float)width / height;   // the capture's, as the mask camera's
                try
                {
                    RenderInto(camera, rt);
                }
                finally
                {
                    camera.ResetAspect();                  // back to following the screen
                }
                var texture = ReadBack(rt);
                try
                {
                    File.WriteAllBytes(path, texture.EncodeToPNG());
                }
                finally
                {
                    Object.Destroy(texture);
                }
            }
            finally
            {
                RenderTexture.ReleaseTemporary(rt);
            }
        }

        /// <summary>
        /// Write the mask of <paramref name="foreground"/> as <paramref name="camera"/> sees it now and
        /// return its pixel count and how far the two id passes agreed. Only what the camera's culling
        /// mask shows takes part; occluders are chosen by <paramref name="settings"/> (MaskRules.Role).
        /// Cutout materials are clipped at their own _Cutoff, transparent ones at
        /// settings.transparentAlphaCutoff; faces are culled as each material culls them; materials of
        /// the background queue are left out; property blocks are kept and the id is set last, under a
        /// property name nothing else uses.
        /// </summary>
        public static MaskResult WriteMask(Camera camera, GameObject foreground, MaskSettings settings, Shader idShader,
            int width, int height, string path)
        {
            if (idShader == null)
            {
                throw new CaptureException("CaptureAgent.maskShader is empty: assign the package's Rdh/MaskUnlit shader");
            }
            var pass = new MaskPass(camera, foreground, settings, idShader);
            try
            {
                pass.Prepare(width, height);
                var first = pass.Render(MaskIds.ForegroundFirst, width, height);
                var second = pass.Render(MaskIds.ForegroundSecond, width, height);
                var mask = new byte[width * height * 3];
                var result = new MaskResult();
                result.foregroundPixels = MaskIds.Select(first, second, 4, mask, out result.disagreeingPixels);
                var texture = new Texture2D(width, height, TextureFormat.RGB24, false, true);
                try
                {
                    texture.LoadRawTextureData(mask);
                    texture.Apply(false);
                    File.WriteAllBytes(path, texture.EncodeToPNG());
                }
                finally
                {
                    Object.Destroy(texture);
                }
                return result;
            }
            finally
            {
                pass.Restore();
            }
        }

        /// <summary>Give an id material its alpha source factor, cutoff and cull mode.</summary>
        internal static void SetSurface(Material material, float cutoff, float alpha, int cull)
        {
            material.SetFloat(AlphaProperty, alpha);
            material.SetFloat(CutoffProperty, cutoff);
            material.SetFloat(CullProperty, cull);
        }

        /// <summary>Set a renderer's id last in its renderer-wide property block (the self-check's square).</summary>
        internal static void SetId(Renderer renderer, int id)
        {
            var block = new MaterialPropertyBlock();
            renderer.GetPropertyBlock(block);
            block.SetVector(IdProperty, IdColour(id));
            renderer.SetPropertyBlock(block);
        }

        /// <summary>SetVector, not SetColor: a colour would be converted to linear in a linear project, and
        /// the id bytes must reach the render target unchanged.</summary>
        internal static Vector4 IdColour(int id)
        {
            byte r, g, b;
            MaskIds.ToBytes(id, out r, out g, out b);
            return new Vector4(r / 255f, g / 255f, b / 255f, 1f);
        }

        static void RenderInto(Camera camera, RenderTexture rt)
        {
            var previous = camera.targetTexture;
            try
            {
                camera.targetTexture = rt;
                camera.Render();
            }
            finally
            {
                camera.targetTexture = previous;
            }
        }

        static Texture2D ReadBack(RenderTexture rt)
        {
            var previous = RenderTexture.active;
            var texture = new Texture2D(rt.width, rt.height, TextureFormat.RGB24, false);
            try
            {
                RenderTexture.active = rt;  // ReadPixels resolves a multisampled target
                texture.ReadPixels(new Rect(0, 0, rt.width, rt.height), 0, 0, false);
                texture.Apply(false);
                return texture;
            }
            finally
            {
                RenderTexture.active = previous;
            }
        }

        /// <summary>Whether a renderer draws an effect (particles, trails, lines, VFX graph) rather than an object.</summary>
        public static bool IsEffect(Renderer renderer)
        {
            return renderer is ParticleSystemRenderer || renderer is TrailRenderer || renderer is LineRenderer ||
                   renderer.GetType().Name == "VFXRenderer";
        }

        /// <summary>Renderers whose geometry comes from their own shader (billboards, SpeedTree wind): the id
        /// shader would draw them at the wrong place, so they keep their materials as occluders.</summary>
        static bool NeedsOwnMaterial(Renderer renderer)
        {
            if (renderer is BillboardRenderer)
            {
                return true;
            }
            foreach (var material in renderer.sharedMaterials)
            {
                if (material != null && material.shader != null && material.shader.name.IndexOf("SpeedTree", StringComparison.OrdinalIgnoreCase) >= 0)
                {
                    return true;
                }
            }
            return false;
        }

        enum Surface { Opaque, Cutout, Transparent }

        static Surface SurfaceOf(Material m)
        {
            if (m.IsKeywordEnabled("_ALPHATEST_ON") || (m.HasProperty("_AlphaClip") && m.GetFloat("_AlphaClip") > 0.5f) ||
                m.GetTag("RenderType", true, "") == "TransparentCutout" ||
                (m.renderQueue >= 2450 && m.renderQueue < 3000))
            {
                return Surface.Cutout;
            }
            if (m.renderQueue >= 3000 || m.GetTag("RenderType", true, "") == "Transparent" ||
                (m.HasProperty("_Surface") && m.GetFloat("_Surface") > 0.5f))
            {
                return Surface.Transparent;
            }
            return Surface.Opaque;
        }

        /// <summary>The state of one mask pass: what it changed in the scene, so that all of it is put back.</summary>
        sealed class MaskPass
        {
            readonly Camera m_Camera;
            readonly GameObject m_Foreground;
            readonly MaskSettings m_Settings;
            readonly Shader m_IdShader;
            // Id materials per source material, for each (alpha occludes, drawn two-sided) of occluders.
            readonly Dictionary<Material, Material>[] m_IdMaterials =
            {
                new Dictionary<Material, Material>(), new Dictionary<Material, Material>(),
                new Dictionary<Material, Material>(), new Dictionary<Material, Material>(),
            };
            readonly List<Material> m_Created = new List<Material>();
            readonly List<Renderer> m_Hidden = new List<Renderer>();
            readonly List<SwappedRenderer> m_Swapped = new List<SwappedRenderer>();
            readonly List<SwappedRenderer> m_ForegroundRenderers = new List<SwappedRenderer>();
            readonly List<HiddenTerrain> m_Terrains = new List<HiddenTerrain>();
            MaskCamera m_MaskCamera;
            Material m_Nothing;   // stands in for a material of the background queue: draws no pixel

            sealed class SwappedRenderer
            {
                public Renderer renderer;
                public Material[] materials;
                public MaterialPropertyBlock block;             // renderer-wide, null if none
                public MaterialPropertyBlock[] materialBlocks;  // per material index, null entries if none
            }

            sealed class HiddenTerrain
            {
                public Terrain terrain;
                public bool drawHeightmap, drawTrees;
            }

            public MaskPass(Camera camera, GameObject foreground, MaskSettings settings, Shader idShader)
            {
                m_Camera = camera;
                m_Foreground = foreground;
                m_Settings = settings ?? new MaskSettings();
                m_IdShader = idShader;
            }

            bool Visible(int layer)
            {
                return ((1 << layer) & m_Camera.cullingMask) != 0;
            }

            bool Occludes(int layer)
            {
                return ((1 << layer) & m_Settings.occluderLayers) != 0;
            }

            public void Prepare(int width, int height)
            {
                var foregroundSet = new HashSet<Renderer>();
                foreach (var r in m_Foreground.GetComponentsInChildren<Renderer>(false))
                {
                    if (r.enabled && !r.forceRenderingOff && !IsEffect(r))
                    {
                        foregroundSet.Add(r);
                    }
                }
                if (foregroundSet.Count == 0)
                {
                    throw new CaptureException($"foreground '{m_Foreground.name}' has no active renderer to make a mask from");
                }
                var index = 0;
                foreach (var r in Object.FindObjectsOfType<Renderer>())
                {
                    if (!r.enabled || r.forceRenderingOff)
                    {
                        continue;  // not in the image either
                    }
                    var role = MaskRules.Role(Visible(r.gameObject.layer), foregroundSet.Contains(r), Occludes(r.gameObject.layer),
                        IsEffect(r), m_Settings.effectsOcclude, r.transform.IsChildOf(m_Foreground.transform),
                        AllInBackground(r), ((1 << r.gameObject.layer) & m_Settings.ownMaterialLayers) != 0 || NeedsOwnMaterial(r));
                    switch (role)
                    {
                        case MaskRole.Foreground:
                            m_ForegroundRenderers.Add(Swap(r, true, true, MaskIds.ForegroundFirst));
                            break;
                        case MaskRole.LeftOut:
                            Hide(r);
                            break;
                        case MaskRole.Id:
                            // An effect that occludes does so where it is opaque enough, like a transparent foreground.
                            Swap(r, false, m_Settings.transparentOccludes || IsEffect(r), MaskIds.OccluderId(index++));
                            break;
                        // NotDrawn, OwnMaterial: drawn as in the image (an occluder whose colour the two passes
                        // cannot mistake for the foreground), or not at all
                    }
                }
                foreach (var t in Terrain.activeTerrains)
                {
                    // An occluding terrain is drawn as in the image, instanced or not, holes included: its
                    // colour does not change between the passes. Others are hidden.
                    if (t != null && t.enabled && Visible(t.gameObject.layer) && !Occludes(t.gameObject.layer))
                    {
                        m_Terrains.Add(new HiddenTerrain { terrain = t, drawHeightmap = t.drawHeightmap, drawTrees = t.drawTreesAndFoliage });
                        t.drawHeightmap = false;
                        t.drawTreesAndFoliage = false;
                    }
                }
                m_MaskCamera = new MaskCamera(m_Camera, m_Settings, width, height);
            }

            static bool AllInBackground(Renderer r)
            {
                var materials = r.sharedMaterials;
                if (materials.Length == 0)
                {
                    return false;
                }
                foreach (var m in materials)
                {
                    if (m == null || !MaskRules.IsBackgroundQueue(m.renderQueue))
                    {
                        return false;
                    }
                }
                return true;
            }

            void Hide(Renderer r)
            {
                r.forceRenderingOff = true;
                m_Hidden.Add(r);
            }

            SwappedRenderer Swap(Renderer r, bool isForeground, bool alphaOccludes, int id)
            {
                var materials = r.sharedMaterials;
                var swapped = new SwappedRenderer { renderer = r, materials = materials };
                var count = Mathf.Max(1, materials.Length);
                var replaced = new Material[count];
                var sprite = r is SpriteRenderer;
                for (var i = 0; i < count; i++)
                {
                    var source = i < materials.Length ? materials[i] : null;
                    replaced[i] = source != null && MaskRules.IsBackgroundQueue(source.renderQueue)
                        ? Nothing()
                        : IdMaterialFor(source, isForeground, alphaOccludes, sprite);
                }
                // The renderer's own property blocks stay (a texture set there still cuts out), the id goes in last.
                if (r.HasPropertyBlock())
                {
                    swapped.block = new MaterialPropertyBlock();
                    r.GetPropertyBlock(swapped.block);
                }
                swapped.materialBlocks = new MaterialPropertyBlock[materials.Length];
                for (var i = 0; i < materials.Length; i++)
                {
                    var block = new MaterialPropertyBlock();
                    r.GetPropertyBlock(block, i);
                    swapped.materialBlocks[i] = block.isEmpty ? null : block;
                }
                m_Swapped.Add(swapped);
                r.sharedMaterials = replaced;
                SetId(swapped, id);
                return swapped;
            }

            static void SetId(SwappedRenderer s, int id)
            {
                FrameCapture.SetId(s.renderer, id);
                var colour = IdColour(id);
                for (var i = 0; i < s.materialBlocks.Length; i++)
                {
                    if (s.materialBlocks[i] != null)
                    {
                        var perMaterial = new MaterialPropertyBlock();
                        s.renderer.GetPropertyBlock(perMaterial, i);
                        perMaterial.SetVector(IdProperty, colour);
                        s.renderer.SetPropertyBlock(perMaterial, i);
                    }
                }
            }

            Material Nothing()
            {
                if (m_Nothing == null)
                {
                    m_Nothing = NewIdMaterial(null, Surface.Opaque, false, false, MaskRules.CullBack);
                    SetSurface(m_Nothing, Invisible, 1f, MaskRules.CullBack);
                }
                return m_Nothing;
            }

            bool ListedTwoSided(Material source)
            {
                var shader = source != null && source.shader != null ? source.shader.name : "";
                return shader != "" && m_Settings.twoSidedShaders.Exists(
                    s => !string.IsNullOrEmpty(s) && shader.IndexOf(s, StringComparison.OrdinalIgnoreCase) >= 0);
            }

            int CullOf(Material source, bool sprite)
            {
                return MaskRules.Cull(name => source != null && source.HasProperty(name) ? source.GetFloat(name) : (float?)null,
                    sprite, ListedTwoSided(source));
            }

            Material IdMaterialFor(Material source, bool isForeground, bool alphaOccludes, bool sprite)
            {
                // One id material per source material and role; the id itself is per renderer (property block).
                var cull = CullOf(source, sprite);
                var cache = m_IdMaterials[(alphaOccludes ? 1 : 0) + (cull == MaskRules.CullOff ? 2 : 0)];
                Material cached;
                if (source != null && !isForeground && cache.TryGetValue(source, out cached))
                {
                    return cached;
                }
                var surface = source != null ? SurfaceOf(source) : Surface.Opaque;
                var material = NewIdMaterial(source, surface, isForeground, alphaOccludes, cull);
                if (source != null && !isForeground)
                {
                    cache[source] = material;
                }
                return material;
            }

            Material NewIdMaterial(Material source, Surface surface, bool isForeground, bool alphaOccludes, int cull)
            {
                var material = new Material(m_IdShader) { hideFlags = HideFlags.HideAndDontSave };
                m_Created.Add(material);
                var cutoff = Opaque;
                var alpha = 1f;
                if (source != null && surface != Surface.Opaque)
                {
                    var texture = source.HasProperty("_BaseMap") ? "_BaseMap" : source.HasProperty("_MainTex") ? "_MainTex" : null;
                    if (texture != null)
                    {
                        material.SetTexture(MainTexProperty, source.GetTexture(texture));
                        material.SetTextureScale(MainTexProperty, source.GetTextureScale(texture));
                        material.SetTextureOffset(MainTexProperty, source.GetTextureOffset(texture));
                    }
                    var tint = source.HasProperty("_BaseColor") ? "_BaseColor" : source.HasProperty("_Color") ? "_Color" : null;
                    if (tint != null)
                    {
                        alpha = source.GetColor(tint).a;
                    }
                    if (surface == Surface.Cutout)
                    {
                        cutoff = source.HasProperty("_Cutoff") ? source.GetFloat("_Cutoff") : 0.5f;
                    }
                    else if (isForeground || alphaOccludes)
                    {
                        cutoff = m_Settings.transparentAlphaCutoff;
                    }
                    else
                    {
                        cutoff = Invisible;  // the foreground shows through glass, as in the image
                    }
                }
                SetSurface(material, cutoff, alpha, cull);
                return material;
            }

            /// <summary>Draw the pass with the foreground in <paramref name="foregroundId"/>; returns RGBA bytes.</summary>
            public byte[] Render(int foregroundId, int width, int height)
            {
                foreach (var s in m_ForegroundRenderers)
                {
                    SetId(s, foregroundId);
                }
                return m_MaskCamera.Render(width, height);
            }

            public void Restore()
            {
                if (m_MaskCamera != null)
                {
                    m_MaskCamera.Dispose();
                }
                foreach (var s in m_Swapped)
                {
                    if (s.renderer == null)
                    {
                        continue;
                    }
                    s.renderer.sharedMaterials = s.materials;
                    s.renderer.SetPropertyBlock(s.block);
                    for (var i = 0; i < s.materialBlocks.Length; i++)
                    {
                        s.renderer.SetPropertyBlock(s.materialBlocks[i], i);
                    }
                }
                foreach (var r in m_Hidden)
                {
                    if (r != null)
                    {
                        r.forceRenderingOff = false;
                    }
                }
                foreach (var t in m_Terrains)
                {
                    if (t.terrain != null)
                    {
                        t.terrain.drawHeightmap = t.drawHeightmap;
                        t.terrain.drawTreesAndFoliage = t.drawTrees;
                    }
                }
                foreach (var m in m_Created)
                {
                    Object.Destroy(m);
                }
            }
        }
    }
}
