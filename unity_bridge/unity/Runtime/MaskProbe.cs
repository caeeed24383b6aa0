using UnityEngine;
using Object = UnityEngine.Object;

namespace Rdh.Capture
{
    /// <summary>
    /// The mask's self-check, run by the agent at hello, after each scene load and whenever the
    /// render pipeline changes: a square of the id shader, drawn far below the scene on a layer of its
    /// own by a mask camera set up exactly as for a capture (same renderer, same features switched
    /// off), in two ids; MaskSelfCheck judges what comes back. A renderer feature, depth priming or
    /// post-processing that would spoil the masks is an error reply naming the likely cause, not a bad
    /// mask.
    /// </summary>
    public static class MaskProbe
    {
        const int ProbeLayer = 31;                                     // the probe camera sees this layer only
        static readonly Vector3 Origin = new Vector3(0f, -10000f, 0f);  // far from any scene content
        const float Distance = 100f;                                   // the square's distance: fog features act on it

        /// <summary>Run the check; returns what was checked, throws CaptureException with the diagnosis.</summary>
        public static string Run(MaskSettings settings, Shader idShader)
        {
            if (idShader == null)
            {
                throw new CaptureException("CaptureAgent.maskShader is empty: assign the package's Rdh/MaskUnlit shader");
            }
            var size = MaskSelfCheck.Size;
            var mesh = Square();
            var material = new Material(idShader) { hideFlags = HideFlags.HideAndDontSave };
            FrameCapture.SetSurface(material, -1f, 1f, MaskRules.CullOff);
            var square = new GameObject("rdh mask probe") { hideFlags = HideFlags.HideAndDontSave, layer = ProbeLayer };
            try
            {
                square.transform.position = Origin + new Vector3(0f, 0f, Distance);
                square.AddComponent<MeshFilter>().sharedMesh = mesh;
                var renderer = square.AddComponent<MeshRenderer>();
                renderer.sharedMaterial = material;
                using (var camera = new MaskCamera(null, settings, size, size))
                {
                    var cam = camera.Camera;
                    cam.transform.SetPositionAndRotation(Origin, Quaternion.identity);   // looking along +z at the square
                    cam.orthographic = true;
                    cam.orthographicSize = 1f;      // 2 x 2 units: the 1 x 1 square covers the middle half
                    cam.nearClipPlane = 1f;
                    cam.farClipPlane = 2f * Distance;
                    cam.cullingMask = 1 << ProbeLayer;
                    FrameCapture.SetId(renderer, MaskSelfCheck.FirstId);
                    var first = camera.Render(size, size);
                    FrameCapture.SetId(renderer, MaskSelfCheck.SecondId);
                    var second = camera.Render(size, size);
                    var problem = MaskSelfCheck.Diagnose(first, second, 4, camera.Kind, camera.Description);
                    if (problem != "")
                    {
                        throw new CaptureException(problem);
                    }
                    return camera.Description + ": a test square read back exactly";
                }
            }
            finally
            {
                square.SetActive(false);   // Destroy waits for the end of the frame: not drawn meanwhile
                Object.Destroy(square);
                Object.Destroy(material);
                Object.Destroy(mesh);
            }
        }

        /// <summary>A 1 x 1 square in the xy plane, facing -z (the camera); drawn with culling off.</summary>
        static Mesh Square()
        {
            var mesh = new Mesh { name = "rdh mask probe", hideFlags = HideFlags.HideAndDontSave };
            mesh.vertices = new[]
            {
                new Vector3(-0.5f, -0.5f, 0f), new Vector3(0.5f, -0.5f, 0f), new Vector3(-0.5f, 0.5f, 0f), new Vector3(0.5f, 0.5f, 0f),
            };
            mesh.normals = new[] { -Vector3.forward, -Vector3.forward, -Vector3.forward, -Vector3.forward };
            mesh.uv = new[] { new Vector2(0f, 0f), new Vector2(1f, 0f), new Vector2(0f, 1f), new Vector2(1f, 1f) };
            mesh.triangles = new[] { 0, 2, 3, 0, 3, 1 };
            mesh.RecalculateBounds();
            return mesh;
        }
    }
}
