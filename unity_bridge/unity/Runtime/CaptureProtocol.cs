using System;
using System.Collections.Generic;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>
    /// Constants of the rdh capture protocol, version 3 (docs/unity.md; Python: unity_bridge/protocol.py;
    /// tests/test_unity_package.py checks that both sides agree).
    /// Every message is one UTF-8 JSON object on one ML-Agents side channel.
    /// </summary>
    public static class CaptureProtocol
    {
        public const string Name = "rdh-capture";
        public const int Version = 3;
        public const string PackageVersion = "0.3.0";  // package.json "version"

        /// <summary>uuid5(NAMESPACE_URL, "https://rdh/unity-capture-protocol"); the same on the Python side.</summary>
        public static readonly Guid ChannelId = new Guid("819f11f0-96a2-5604-827e-e7e865655583");
    }

    /// <summary>A request from rdh. Field names are the protocol's JSON keys (hence snake_case);
    /// JsonUtility leaves the fields a request does not carry at their defaults.</summary>
    [Serializable]
    public class CaptureRequest
    {
        public int v;
        public int id;
        public string op;
        public string protocol;        // hello
        public string scene;           // load_scene
        public string viewpoint;       // set_viewpoint
        public string foreground;      // set_foreground
        public string weather;         // set_style: rdh weather name
        public string time;            // set_style: HH:MM
        public int settle_frames;      // set_style: frames to wait at least before answering
        public float settle_seconds;   // set_style: seconds (real time) to wait at least before answering
        public int seed;               // set_style: seed of UnityEngine.Random after the style is applied
        public string folder;          // capture: absolute folder to write into
        public string image;           // capture: file name of the image, or empty
        public string mask;            // capture: file name of the mask, or empty
        public int width;              // capture
        public int height;             // capture

        /// <summary>Why the message could not be read (set by the side channel, never sent).</summary>
        [NonSerialized] public string parseError;
    }

    [Serializable]
    public class NamedItem
    {
        public string name;
        public string category;
    }

    [Serializable]
    public class NamedValue
    {
        public string name;
        public float value;

        public NamedValue() { }

        public NamedValue(string name, float value)
        {
            this.name = name;
            this.value = value;
        }
    }

    [Serializable]
    public class CameraInfo
    {
        public Vector3 position;
        public Vector3 rotation;       // Euler angles, degrees
        public float fov;              // vertical field of view, degrees
    }

    /// <summary>The answer to one request. Fields of other ops stay empty; rdh reads those of its op.</summary>
    [Serializable]
    public class CaptureReply
    {
        public int v = CaptureProtocol.Version;
        public int id;
        public string op;
        public bool ok = true;
        public string error = "";
        // hello
        public string protocol = "";
        public int version;
        public string unity_version = "";
        public string package_version = "";
        public string product = "";
        public string controller = "";
        public string sky = "";                // hello, load_scene: ready, pending (not yet there) or none (no controller)
        public List<string> weather_types = new List<string>();   // hello (once the sky is ready), load_scene
        public string render_pipeline = "";    // the render pipeline asset's type name, or built-in
        public string mask_check = "";         // hello, load_scene: what the mask's self-check verified
        // list_scenes
        public List<string> scenes = new List<string>();
        // load_scene
        public string scene = "";
        public List<NamedItem> viewpoints = new List<NamedItem>();
        public List<NamedItem> foregrounds = new List<NamedItem>();
        public bool paused;            // animation, physics and particles are frozen (CaptureAgent.pauseWorld)
        // set_viewpoint
        public string viewpoint = "";
        public CameraInfo camera = new CameraInfo();
        // set_foreground (and capture)
        public string foreground = "";
        public string category = "";
        // set_style
        public string weather = "";
        public string weather_type = "";
        public string time = "";
        public List<NamedValue> values = new List<NamedValue>();
        public int frames;             // frames waited after applying the style
        public float seconds;          // real seconds waited after applying the style
        // capture
        public string image = "";
        public string mask = "";
        public int width;
        public int height;
        public int mask_pass_diff;     // pixels whose id changed between the mask's two id passes, other than the foreground's
        public float ms;               // time spent rendering and writing, for rdh's benchmark

        public void Fail(string message)
        {
            ok = false;
            error = message;
        }
    }
}
