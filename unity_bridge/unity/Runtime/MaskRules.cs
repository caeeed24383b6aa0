using System;

namespace Rdh.Capture
{
    /// <summary>The render pipeline the mask pass runs in.</summary>
    public enum PipelineKind
    {
        BuiltIn,
        Universal,
        Unsupported,
    }

    /// <summary>What the mask pass does with one renderer.</summary>
    public enum MaskRole
    {
        /// <summary>Not drawn by the capture camera either (its culling mask): left as it is.</summary>
        NotDrawn,
        /// <summary>Hidden for the pass: it cannot hide the foreground.</summary>
        LeftOut,
        /// <summary>Drawn in the foreground's ids.</summary>
        Foreground,
        /// <summary>Drawn as in the image, with its own materials: an occluder whose colour does not change between the passes.</summary>
        OwnMaterial,
        /// <summary>Drawn in its own flat id.</summary>
        Id,
    }

    /// <summary>
    /// The decisions of the mask pass that need no Unity object: which renderer takes which role,
    /// which materials are left out (the background queue), which faces the id shader culls, and
    /// which renderer draws the pass in which pipeline. Plain C# (no UnityEngine), so the tests run
    /// it under Mono; FrameCapture and MaskCamera feed it what they read from the scene.
    /// </summary>
    public static class MaskRules
    {
        /// <summary>Render queues below this are the background (Unity's Background queue is 1000, Geometry
        /// 2000): sky domes, UniStorm's clouds, stars, sun and moon. They are drawn behind everything in the
        /// image and hide nothing, so the id pass leaves them out.</summary>
        public const int FirstSceneQueue = 2000;

        // UnityEngine.Rendering.CullMode, the value the id shader's Cull [_RdhCull] takes.
        public const int CullOff = 0;
        public const int CullFront = 1;
        public const int CullBack = 2;

        /// <summary>Whether a material of this render queue is part of the background (left out of the id pass).</summary>
        public static bool IsBackgroundQueue(int renderQueue)
        {
            return renderQueue < FirstSceneQueue;
        }

        /// <summary>The role of a renderer in the mask pass, from what is known of it.</summary>
        public static MaskRole Role(bool visibleToCamera, bool isForeground, bool onOccluderLayer, bool isEffect,
            bool effectsOcclude, bool insideForeground, bool allMaterialsInBackground, bool keepsOwnMaterial)
        {
            if (!visibleToCamera)
            {
                return MaskRole.NotDrawn;
            }
            if (isForeground)
            {
                return MaskRole.Foreground;
            }
            if (!onOccluderLayer || (isEffect && !effectsOcclude) || insideForeground || allMaterialsInBackground)
            {
                // left-out layers, effects, the foreground's own effects (sparks, smoke), the sky
                return MaskRole.LeftOut;
            }
            return keepsOwnMaterial ? MaskRole.OwnMaterial : MaskRole.Id;
        }

        /// <summary>
        /// The faces the id shader culls for one source material, as the image culls them: the material's
        /// own cull property (_Cull: URP Lit and Simple Lit, Shader Graph with material override, many
        /// asset-store shaders; _CullMode: HDRP-style shaders), else off for sprites (drawn two-sided) and
        /// for shaders listed as two-sided in the mask settings, else back faces, Unity's default when a
        /// shader says nothing. <paramref name="property"/> returns a float property of the material, or
        /// null when it has none.
        /// </summary>
        public static int Cull(Func<string, float?> property, bool isSprite, bool listedTwoSided)
        {
            if (isSprite || listedTwoSided)
            {
                return CullOff;
            }
            foreach (var name in new[] { "_Cull", "_CullMode" })
            {
                var value = property(name);
                if (value.HasValue && !float.IsNaN(value.Value))
                {
                    var mode = (int)Math.Round(value.Value);
                    return mode < CullOff || mode > CullBack ? CullBack : mode;
                }
            }
            return CullBack;
        }

        /// <summary>The pipeline a render pipeline asset's type name stands for (null or empty: the built-in pipeline).</summary>
        public static PipelineKind Classify(string pipelineAssetType)
        {
            if (string.IsNullOrEmpty(pipelineAssetType))
            {
                return PipelineKind.BuiltIn;
            }
            return pipelineAssetType == "UniversalRenderPipelineAsset" ? PipelineKind.Universal : PipelineKind.Unsupported;
        }

        /// <summary>
        /// The renderer the id passes use and a description of it, for the self-check and the log. In the
        /// built-in pipeline a bare camera (no image effects, no command buffers); in URP the renderer of
        /// index <paramref name="maskRenderer"/> of the pipeline asset's Renderer List (a renderer without
        /// features), or, at -1, the asset's default renderer with the features of the listed renderers
        /// switched off around the passes. Returns the renderer index to select on the mask camera (-1: the
        /// default). Throws CaptureException for a pipeline the package does not support.
        /// </summary>
        public static int MaskRenderer(PipelineKind kind, string pipelineName, int maskRenderer, int featuresSwitchedOff,
            out string description)
        {
            switch (kind)
            {
                case PipelineKind.BuiltIn:
                    description = "built-in pipeline: a bare camera (no image effects, no command buffers)";
                    return -1;
                case PipelineKind.Universal:
                    if (maskRenderer >= 0)
                    {
                        description = $"URP: renderer {maskRenderer} of the pipeline asset's Renderer List (Mask > Urp Mask Renderer)";
                        return maskRenderer;
                    }
                    description = featuresSwitchedOff > 0
                        ? $"URP: the default renderer, {featuresSwitchedOff} renderer feature(s) switched off around the id passes"
                        : "URP: the default renderer, with its renderer features (none switched off)";
                    return -1;
                default:
                    throw new CaptureException($"the render pipeline {pipelineName} is not supported by the mask pass: use the built-in pipeline or URP");
            }
        }
    }
}
