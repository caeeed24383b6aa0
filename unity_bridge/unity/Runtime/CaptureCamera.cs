using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>
    /// Marks the camera of a content scene that renders the captures. The CaptureAgent lives in the
    /// bootstrap scene and cannot reference a camera of another scene; after each load it looks for
    /// this component (then for the sky's camera, then for the Main Camera). With UniStorm, put it on
    /// UniStorm's Player Camera.
    /// </summary>
    [DisallowMultipleComponent]
    [RequireComponent(typeof(Camera))]
    [AddComponentMenu("rdh/Capture Camera")]
    public class CaptureCamera : MonoBehaviour
    {
        public Camera Camera => GetComponent<Camera>();
    }
}
