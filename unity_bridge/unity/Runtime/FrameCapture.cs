using System.Collections.Generic;
using System.IO;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>
    /// Renders the capture camera into PNG files: the image as the camera sees it, and the exact
    /// binary mask of the foreground (255 where it is visible, 0 elsewhere).
    /// </summary>
    public static class FrameCapture
    {
        /// <summary>Render <paramref name="camera"/> at width x height and write an 8-bit RGB PNG.</summary>
        public static void WriteImage(Camera camera, int width, int height, string path)
        {
            // sRGB target: the PNG holds what the screen would show, in linear and gamma projects alike.
            var rt = RenderTexture.GetTemporary(width, height, 24, RenderTextureFormat.ARGB32,
                RenderTextureReadWrite.sRGB, Mathf.Max(1, QualitySettings.antiAliasing));
            try
            {
                RenderInto(camera, rt);
                WritePng(rt, path, threshold: false);
            }
            finally
            {
                RenderTexture.ReleaseTemporary(rt);
            }
        }

        /// <summary>
        /// Render the mask of <paramref name="foreground"/> seen by <paramref name="camera"/>: every
        /// renderer on <paramref name="occluders"/> is drawn black and the foreground's renderers white,
        /// unlit, without fog, anti-aliasing or post-processing, then thresholded to 0/255. Objects in
        /// front of the foreground hide it, as in the image.
        /// </summary>
        public static void WriteMask(Camera camera, GameObject foreground, LayerMask occluders, Shader unlit,
            int width, int height, string path)
        {
            if (unlit == null)
            {
                throw new CaptureException("CaptureAgent.maskShader is empty: assign the package's Rdh/MaskUnlit shader");
            }
            var fgRenderers = foreground.GetComponentsInChildren<Renderer>(false);
            if (fgRenderers.Length == 0)
            {
                throw new CaptureException($"foreground '{foreground.name}' has no active renderer to make a mask from");
            }
            var fgSet = new HashSet<Renderer>(fgRenderers);
            int cullingMask = occluders;
            foreach (var r in fgRenderers)
            {
                cullingMask |= 1 << r.gameObject.layer;
            }

            var white = new Material(unlit) { color = Color.white };
            var black = new Material(unlit) { color = Color.black };
            var swapped = new List<(Renderer renderer, Material[] materials)>();
            var maskCameraObject = new GameObject("rdh mask camera") { hideFlags = HideFlags.HideAndDontSave };
            var rt = RenderTexture.GetTemporary(width, height, 24, RenderTextureFormat.ARGB32, RenderTextureReadWrite.Linear, 1);
            try
            {
                // A fresh camera: same pose and projection, none of the main camera's effects.
                var maskCamera = maskCameraObject.AddComponent<Camera>();
                maskCamera.CopyFrom(camera);
                maskCamera.enabled = false;
                maskCamera.clearFlags = CameraClearFlags.SolidColor;
                maskCamera.backgroundColor = Color.black;
                maskCamera.cullingMask = cullingMask;
                maskCamera.allowHDR = false;
                maskCamera.allowMSAA = false;
                foreach (var r in Object.FindObjectsByType<Renderer>(FindObjectsSortMode.None))
                {
                    if (((1 << r.gameObject.layer) & cullingMask) == 0)
                    {
                        continue;
                    }
                    var colour = fgSet.Contains(r) ? white : black;
                    swapped.Add((r, r.sharedMaterials));
                    var materials = new Material[Mathf.Max(1, r.sharedMaterials.Length)];
                    for (var i = 0; i < materials.Length; i++)
                    {
                        materials[i] = colour;
                    }
                    r.sharedMaterials = materials;
                }
                RenderInto(maskCamera, rt);
                WritePng(rt, path, threshold: true);
            }
            finally
            {
                foreach (var (renderer, materials) in swapped)
                {
                    renderer.sharedMaterials = materials;
                }
                RenderTexture.ReleaseTemporary(rt);
                Object.Destroy(maskCameraObject);
                Object.Destroy(white);
                Object.Destroy(black);
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

        static void WritePng(RenderTexture rt, string path, bool threshold)
        {
            var previous = RenderTexture.active;
            var texture = new Texture2D(rt.width, rt.height, TextureFormat.RGB24, false);
            try
            {
                RenderTexture.active = rt;  // ReadPixels resolves a multisampled target
                texture.ReadPixels(new Rect(0, 0, rt.width, rt.height), 0, 0, false);
                if (threshold)
                {
                    var pixels = texture.GetPixels32();
                    for (var i = 0; i < pixels.Length; i++)
                    {
                        var v = (byte)(pixels[i].r > 127 ? 255 : 0);
                        pixels[i] = new Color32(v, v, v, 255);
                    }
                    texture.SetPixels32(pixels);
                }
                File.WriteAllBytes(path, texture.EncodeToPNG());
            }
            finally
            {
                RenderTexture.active = previous;
                Object.Destroy(texture);
            }
        }
    }
}
