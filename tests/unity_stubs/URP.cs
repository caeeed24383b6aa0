// Stub of the URP 12 (com.unity.render-pipelines.universal, Unity 2021.3) surface the rdh package uses
// when RDH_URP is defined; see README.md.
using System.Collections.Generic;
using UnityEngine;

namespace UnityEngine.Rendering.Universal
{
    public enum AntialiasingMode { None = 0, FastApproximateAntialiasing = 1, SubpixelMorphologicalAntiAliasing = 2 }

    public abstract class ScriptableRendererFeature : ScriptableObject
    {
        public bool isActive { get { return true; } }
        public void SetActive(bool active) { }
    }

    public abstract class ScriptableRendererData : ScriptableObject
    {
        public List<ScriptableRendererFeature> rendererFeatures { get { return new List<ScriptableRendererFeature>(); } }
    }

    public class UniversalAdditionalCameraData : MonoBehaviour
    {
        public bool renderPostProcessing { get; set; }
        public AntialiasingMode antialiasing { get; set; }
        public bool dithering { get; set; }
        public bool renderShadows { get; set; }
        public bool requiresDepthTexture { get; set; }
        public bool requiresColorTexture { get; set; }
        public void SetRenderer(int index) { }
    }

    public class DecalProjector : MonoBehaviour { }
}
