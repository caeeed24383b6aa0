using System;
using System.Collections.Generic;
using UnityEngine;
using UnityEngine.Rendering;
#if RDH_URP
using UnityEngine.Rendering.Universal;
#endif
using Object = UnityEngine.Object;

namespace Rdh.Capture
{
    /// <summary>
    /// The hidden camera that draws the id passes of the mask, and what is switched off around them.
    /// Built-in pipeline: a camera of its own (no image effects, its command buffers removed). URP:
    /// the same, with post-processing, anti-aliasing, dithering, shadows and the depth and colour
    /// textures off, drawn by the renderer MaskRules.MaskRenderer chooses (a renderer without
    /// features, selected per camera), with the renderer features of the renderers listed under
    /// Mask > Urp Features Off switched off until <see cref="Dispose"/>. Projectors and URP decal
    /// projectors are switched off as well: they neither hide nor extend the foreground. The id target
    /// is linear and read back through a linear texture, so the id bytes come back unchanged.
    /// </summary>
    public sealed class MaskCamera : IDisposable
    {
        public Camera Camera { get; private set; }
        public PipelineKind Kind { get; private set; }
        public string Description { get; private set; }

        GameObject m_Object;
        readonly List<Behaviour> m_Disabled = new List<Behaviour>();
#if RDH_URP
        readonly List<ScriptableRendererFeature> m_FeaturesOff = new List<ScriptableRendererFeature>();
#endif

        /// <summary>The pipeline the project renders with now, and its asset's type name ("built-in" without one).</summary>
        public static PipelineKind CurrentPipeline(out string name)
        {
            var asset = GraphicsSettings.currentRenderPipeline;
            name = asset != null ? asset.GetType().Name : "built-in";
            return MaskRules.Classify(asset != null ? asset.GetType().Name : null);
        }

        /// <summary>A mask camera with <paramref name="source"/>'s pose, projection and culling mask (none
        /// for the self-check), rendering width x height.</summary>
        public MaskCamera(Camera source, MaskSettings settings, int width, int height)
        {
            string pipelineName;
            Kind = CurrentPipeline(out pipelineName);
            try
            {
                var featuresOff = SwitchFeaturesOff(settings);
                string description;
                var rendererIndex = MaskRules.MaskRenderer(Kind, pipelineName, settings.urpMaskRenderer, featuresOff, out description);
                Description = description;
                m_Object = new GameObject("rdh mask camera") { hideFlags = HideFlags.HideAndDontSave };
                Camera = m_Object.AddComponent<Camera>();
                if (source != null)
                {
                    Camera.CopyFrom(source);   // pose, projection, culling mask; not its effects
                }
                Camera.enabled = false;
                Camera.clearFlags = CameraClearFlags.SolidColor;
                Camera.backgroundColor = new Color(0f, 0f, 0f, 1f);  // id 0: the background
                Camera.allowHDR = false;
                Camera.allowMSAA = false;
                Camera.renderingPath = RenderingPath.Forward;
                Camera.depthTextureMode = DepthTextureMode.None;
                Camera.aspect = (float)width / height;    // the target's, whatever the source camera had
                Camera.RemoveAllCommandBuffers();
                if (Kind == PipelineKind.Universal)
                {
                    ConfigureUniversal(rendererIndex);
                }
                SwitchOffProjectors();
            }
            catch
            {
                Dispose();
                throw;
            }
        }

#if RDH_URP
        void ConfigureUniversal(int rendererIndex)
        {
            var data = Camera.GetComponent<UniversalAdditionalCameraData>();
            if (data == null)
            {
                data = Camera.gameObject.AddComponent<UniversalAdditionalCameraData>();
            }
            data.renderPostProcessing = false;
            data.antialiasing = AntialiasingMode.None;
            data.dithering = false;
            data.renderShadows = false;
            data.requiresDepthTexture = false;
            data.requiresColorTexture = false;
            if (rendererIndex >= 0)
            {
                data.SetRenderer(rendererIndex);
            }
        }

        int SwitchFeaturesOff(MaskSettings settings)
        {
            if (Kind != PipelineKind.Universal || settings.urpFeaturesOff == null)
            {
                return 0;
            }
            foreach (var rendererData in settings.urpFeaturesOff)
            {
                if (rendererData == null)
                {
                    continue;
                }
                foreach (var feature in rendererData.rendererFeatures)
                {
                    if (feature != null && feature.isActive)
                    {
                        feature.SetActive(false);
                        m_FeaturesOff.Add(feature);
                    }
                }
            }
            return m_FeaturesOff.Count;
        }
#else
        // Without URP in the project (no RDH_URP), Kind is never Universal.
        void ConfigureUniversal(int rendererIndex)
        {
        }

        int SwitchFeaturesOff(MaskSettings settings)
        {
            return 0;
        }
#endif

        void SwitchOffProjectors()
        {
            foreach (var projector in Object.FindObjectsOfType<Projector>())
            {
                Disable(projector);
            }
#if RDH_URP
            foreach (var decal in Object.FindObjectsOfType<DecalProjector>())
            {
                Disable(decal);
            }
#endif
        }

        void Disable(Behaviour behaviour)
        {
            if (behaviour != null && behaviour.enabled)
            {
                behaviour.enabled = false;
                m_Disabled.Add(behaviour);
            }
        }

        /// <summary>Render the ids into a linear, single-sample target; returns RGBA bytes (4 per pixel).</summary>
        public byte[] Render(int width, int height)
        {
            var rt = RenderTexture.GetTemporary(width, height, 24, RenderTextureFormat.ARGB32, RenderTextureReadWrite.Linear, 1);
            var previousActive = RenderTexture.active;
            var texture = new Texture2D(width, height, TextureFormat.RGBA32, false, true);  // linear: no sRGB read-back
            try
            {
                Camera.targetTexture = rt;
                Camera.Render();
                RenderTexture.active = rt;
                texture.ReadPixels(new Rect(0, 0, width, height), 0, 0, false);
                texture.Apply(false);
                return texture.GetRawTextureData();
            }
            finally
            {
                Camera.targetTexture = null;
                RenderTexture.active = previousActive;
                RenderTexture.ReleaseTemporary(rt);
                Object.Destroy(texture);
            }
        }

        /// <summary>Put back what was switched off and remove the camera.</summary>
        public void Dispose()
        {
#if RDH_URP
            foreach (var feature in m_FeaturesOff)
            {
                if (feature != null)
                {
                    feature.SetActive(true);
                }
            }
            m_FeaturesOff.Clear();
#endif
            foreach (var behaviour in m_Disabled)
            {
                if (behaviour != null)
                {
                    behaviour.enabled = true;
                }
            }
            m_Disabled.Clear();
            if (m_Object != null)
            {
                Object.Destroy(m_Object);
                m_Object = null;
            }
        }
    }
}
