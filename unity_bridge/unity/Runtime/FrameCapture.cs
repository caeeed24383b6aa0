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
    }

    /// <summary>
    /// Renders the capture camera into PNG files: the image as the camera sees it, and the exact
    /// binary mask of the foreground (255 where it is visible, 0 elsewhere) from an object-id pass
    /// (see <see cref="MaskIds"/>).
    /// </summary>
    public static class FrameCapture
    {
        static readonly int IdProperty = Shader.PropertyToID("_RdhId");
        static readonly int AlphaProperty = Shader.PropertyToID("_RdhAlpha");
        static readonly int CutoffProperty = Shader.PropertyToID("_RdhCutoff");
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
                RenderInto(camera, rt);
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
        /// return its pixel count. Only what the camera's culling mask shows takes part; occluders are
        /// chosen by <paramref name="settings"/>. Cutout materials are clipped at their own _Cutoff,
        /// transparent ones at settings.transparentAlphaCutoff; property blocks are kept and the id is
        /// set last, under a property name nothing else uses.
        /// </summary>
        public static int WriteMask(Camera camera, GameObject foreground, MaskSettings settings, Shader idShader,
            int width, int height, string path)
        {
            if (idShader == null)
            {
                throw new CaptureException("CaptureAgent.maskShader is empty: assign the package's Rdh/MaskUnlit shader");
            }
            var pass = new MaskPass(camera, foreground, settings, idShader);
            try
            {
                pass.Prepare();
                var first = pass.Render(MaskIds.ForegroundFirst, width, height);
                var second = pass.Render(MaskIds.ForegroundSecond, width, height);
                var mask = new byte[width * height * 3];
                var count = MaskIds.Select(first, second, 3, mask);
                var texture = new Texture2D(width, height, TextureFormat.RGB24, false);
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
                return count;
            }
            finally
            {
                pass.Restore();
            }
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
            // Id materials of occluders, per source material: [0] transparent parts left out, [1] cut at the alpha cutoff.
            readonly Dictionary<Material, Material>[] m_IdMaterials =
                { new Dictionary<Material, Material>(), new Dictionary<Material, Material>() };
            readonly List<Material> m_Created = new List<Material>();
            readonly List<Renderer> m_Hidden = new List<Renderer>();
            readonly List<SwappedRenderer> m_Swapped = new List<SwappedRenderer>();
            readonly List<Renderer> m_ForegroundRenderers = new List<Renderer>();
            readonly List<SwappedTerrain> m_Terrains = new List<SwappedTerrain>();
            GameObject m_CameraObject;
            Camera m_MaskCamera;

            sealed class SwappedRenderer
            {
                public Renderer renderer;
                public Material[] materials;
                public MaterialPropertyBlock block;             // renderer-wide, null if none
                public MaterialPropertyBlock[] materialBlocks;  // per material index, null entries if none
            }

            sealed class SwappedTerrain
            {
                public Terrain terrain;
                public Material template;
                public bool drawHeightmap, drawTrees, drawInstanced;
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

            public void Prepare()
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
                    if (!r.enabled || r.forceRenderingOff || !Visible(r.gameObject.layer))
                    {
                        continue;  // not in the image either
                    }
                    if (foregroundSet.Contains(r))
                    {
                        Swap(r, true, true, MaskIds.ForegroundFirst);
                        m_ForegroundRenderers.Add(r);
                    }
                    else if (!Occludes(r.gameObject.layer) || (IsEffect(r) && !m_Settings.effectsOcclude) ||
                             r.transform.IsChildOf(m_Foreground.transform))
                    {
                        Hide(r);    // left-out layers, effects, and the foreground's own effects (sparks, smoke)
                    }
                    else if (((1 << r.gameObject.layer) & m_Settings.ownMaterialLayers) != 0 || NeedsOwnMaterial(r))
                    {
                        // drawn as in the image: an occluder whose colour the two passes cannot mistake for the foreground
                    }
                    else
                    {
                        // An effect that occludes does so where it is opaque enough, like a transparent foreground.
                        var alphaOccludes = m_Settings.transparentOccludes || IsEffect(r);
                        Swap(r, false, alphaOccludes, MaskIds.OccluderId(index++));
                    }
                }
                foreach (var t in Terrain.activeTerrains)
                {
                    if (t == null || !t.enabled || !Visible(t.gameObject.layer))
                    {
                        continue;
                    }
                    var saved = new SwappedTerrain
                    {
                        terrain = t, template = t.materialTemplate, drawHeightmap = t.drawHeightmap,
                        drawTrees = t.drawTreesAndFoliage, drawInstanced = t.drawInstanced,
                    };
                    m_Terrains.Add(saved);
                    if (!Occludes(t.gameObject.layer))
                    {
                        t.drawHeightmap = false;
                        t.drawTreesAndFoliage = false;
                        continue;
                    }
                    // The heightmap in its id; trees and grass keep their own materials (alpha-cut as drawn).
                    var material = NewIdMaterial(null, Surface.Opaque, false, false);
                    material.SetVector(IdProperty, IdColour(MaskIds.OccluderId(index++)));
                    t.drawInstanced = false;  // instanced terrain builds its vertices in its own shader
                    t.materialTemplate = material;
                }

                m_CameraObject = new GameObject("rdh mask camera") { hideFlags = HideFlags.HideAndDontSave };
                m_MaskCamera = m_CameraObject.AddComponent<Camera>();
                // Same pose, projection and culling mask; none of the capture camera's effects or command buffers.
                m_MaskCamera.CopyFrom(m_Camera);
                m_MaskCamera.enabled = false;
                m_MaskCamera.clearFlags = CameraClearFlags.SolidColor;
                m_MaskCamera.backgroundColor = new Color(0f, 0f, 0f, 1f);  // id 0: the background
                m_MaskCamera.allowHDR = false;
                m_MaskCamera.allowMSAA = false;
                m_MaskCamera.renderingPath = RenderingPath.Forward;
                m_MaskCamera.depthTextureMode = DepthTextureMode.None;
            }

            void Hide(Renderer r)
            {
                r.forceRenderingOff = true;
                m_Hidden.Add(r);
            }

            void Swap(Renderer r, bool isForeground, bool alphaOccludes, int id)
            {
                var materials = r.sharedMaterials;
                var swapped = new SwappedRenderer { renderer = r, materials = materials };
                var count = Mathf.Max(1, materials.Length);
                var replaced = new Material[count];
                for (var i = 0; i < count; i++)
                {
                    var source = i < materials.Length ? materials[i] : null;
                    replaced[i] = IdMaterialFor(source, isForeground, alphaOccludes);
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
            }

            void SetId(SwappedRenderer s, int id)
            {
                var colour = IdColour(id);
                var block = new MaterialPropertyBlock();
                s.renderer.GetPropertyBlock(block);
                block.SetVector(IdProperty, colour);
                s.renderer.SetPropertyBlock(block);
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

            /// <summary>SetVector, not SetColor: a colour would be converted to linear in a linear project, and
            /// the id bytes must reach the render target unchanged.</summary>
            static Vector4 IdColour(int id)
            {
                byte r, g, b;
                MaskIds.ToBytes(id, out r, out g, out b);
                return new Vector4(r / 255f, g / 255f, b / 255f, 1f);
            }

            Material IdMaterialFor(Material source, bool isForeground, bool alphaOccludes)
            {
                // One id material per source material and role; the id itself is per renderer (property block).
                var cache = m_IdMaterials[alphaOccludes ? 1 : 0];
                Material cached;
                if (source != null && !isForeground && cache.TryGetValue(source, out cached))
                {
                    return cached;
                }
                var surface = source != null ? SurfaceOf(source) : Surface.Opaque;
                var material = NewIdMaterial(source, surface, isForeground, alphaOccludes);
                if (source != null && !isForeground)
                {
                    cache[source] = material;
                }
                return material;
            }

            Material NewIdMaterial(Material source, Surface surface, bool isForeground, bool alphaOccludes)
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
                material.SetFloat(AlphaProperty, alpha);
                material.SetFloat(CutoffProperty, cutoff);
                return material;
            }

            /// <summary>Draw the pass with the foreground in <paramref name="foregroundId"/>; returns RGB bytes.</summary>
            public byte[] Render(int foregroundId, int width, int height)
            {
                foreach (var s in m_Swapped)
                {
                    if (m_ForegroundRenderers.Contains(s.renderer))
                    {
                        SetId(s, foregroundId);
                    }
                }
                // Linear, no MSAA: each pixel holds exactly one id's bytes.
                var rt = RenderTexture.GetTemporary(width, height, 24, RenderTextureFormat.ARGB32, RenderTextureReadWrite.Linear, 1);
                try
                {
                    RenderInto(m_MaskCamera, rt);
                    var texture = ReadBack(rt);
                    try
                    {
                        return texture.GetRawTextureData();
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

            public void Restore()
            {
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
                    if (t.terrain == null)
                    {
                        continue;
                    }
                    t.terrain.materialTemplate = t.template;
                    t.terrain.drawHeightmap = t.drawHeightmap;
                    t.terrain.drawTreesAndFoliage = t.drawTrees;
                    t.terrain.drawInstanced = t.drawInstanced;
                }
                if (m_CameraObject != null)
                {
                    Object.Destroy(m_CameraObject);
                }
                foreach (var m in m_Created)
                {
                    Object.Destroy(m);
                }
            }
        }
    }
}
