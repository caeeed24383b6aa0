using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using Unity.MLAgents;
using Unity.MLAgents.Actuators;
using Unity.MLAgents.Policies;
using Unity.MLAgents.Sensors;
using Unity.MLAgents.SideChannels;
using UnityEngine;
using UnityEngine.SceneManagement;
using Debug = UnityEngine.Debug;

namespace Rdh.Capture
{
    /// <summary>
    /// The object rdh talks to. Put it in the first scene of the build (the bootstrap scene), on an
    /// object of its own. It survives scene loads, registers the capture side channel, requests a
    /// decision every step (ML-Agents only exchanges messages with rdh while an agent asks for
    /// decisions) and answers rdh's requests one at a time: load a scene, place the camera on a
    /// viewpoint, choose the foreground, set weather and time, capture image and mask.
    /// Its Behavior Parameters: Behavior Name RdhCapture, Vector Observation Space Size 1,
    /// Continuous Actions 1, Behavior Type Default (filled in when the component is added).
    /// </summary>
    [AddComponentMenu("rdh/Capture Agent")]
    public class CaptureAgent : Agent
    {
        [Header("Capture")]
        [Tooltip("Camera that renders the captures; viewpoints move it. Empty: the Main Camera of the loaded scene. With UniStorm, use UniStorm's Player Camera.")]
        public Camera captureCamera;

        [Tooltip("Weather and time controller. Empty: the first active SkyController found in the loaded scenes.")]
        public SkyController skyController;

        [Tooltip("Layers whose renderers can hide the foreground in the mask. Leave out layers of weather particles, UI and helpers.")]
        public LayerMask occluderLayers = ~0;

        [Tooltip("The package's Rdh/MaskUnlit shader (set when the component is added; the reference keeps it in builds).")]
        public Shader maskShader;

        [Header("Scenes")]
        [Tooltip("Scene names offered to rdh. Empty: every scene in the build's scene list except this bootstrap scene (or this scene if it is the only one).")]
        public List<string> sceneNames = new List<string>();

        [Tooltip("Frames to wait after a scene has loaded before describing it (lighting, streaming and physics settle).")]
        public int sceneSettleFrames = 3;

        [Header("Pacing")]
        [Tooltip("Step ML-Agents once per rendered frame instead of per physics step: one request and its reply cost one frame.")]
        public bool stepEveryFrame = true;

        [Tooltip("Seconds to wait for the sky controller to be ready (UniStorm initializes over a few frames).")]
        public float skyReadyTimeout = 30f;

        const string MaskShaderName = "Rdh/MaskUnlit";

        static CaptureAgent s_Instance;
        CaptureSideChannel m_Channel;
        string m_BootstrapScene;
        ViewpointRegistry m_Viewpoints;
        ForegroundRegistry m_Foregrounds;
        ForegroundCandidate m_Foreground;

        // -- lifetime ---------------------------------------------------------------------------
        public override void Initialize()
        {
            if (s_Instance == this)
            {
                return;  // re-enabled
            }
            s_Instance = this;
            m_BootstrapScene = gameObject.scene.name;
            DontDestroyOnLoad(transform.root.gameObject);
            m_Channel = new CaptureSideChannel();
            SideChannelManager.RegisterSideChannel(m_Channel);
            if (stepEveryFrame)
            {
                Academy.Instance.AutomaticSteppingEnabled = false;
            }
        }

        protected override void OnEnable()
        {
            if (s_Instance != null && s_Instance != this)
            {
                // A scene loaded later holds a CaptureAgent too: the one of the bootstrap scene serves.
                enabled = false;
                return;
            }
            base.OnEnable();  // initializes the agent (and calls Initialize) once
            Academy.Instance.AgentPreStep += RequestEveryStep;
        }

        protected override void OnDisable()
        {
            if (s_Instance != this)
            {
                return;  // a duplicate that never started
            }
            if (Academy.IsInitialized)
            {
                Academy.Instance.AgentPreStep -= RequestEveryStep;
            }
            base.OnDisable();
        }

        void OnDestroy()
        {
            if (s_Instance == this)
            {
                SideChannelManager.UnregisterSideChannel(m_Channel);
                s_Instance = null;
            }
        }

        void Start()
        {
            if (s_Instance == this)
            {
                StartCoroutine(Serve());
            }
        }

        void Update()
        {
            if (s_Instance == this && stepEveryFrame)
            {
                Academy.Instance.EnvironmentStep();  // sends queued replies, receives new requests
            }
        }

        void RequestEveryStep(int academyStep)
        {
            RequestDecision();
        }

        public override void CollectObservations(VectorSensor sensor)
        {
            sensor.AddObservation(m_Channel != null ? m_Channel.Pending : 0);  // the one observation rdh ignores
        }

        public override void OnActionReceived(ActionBuffers actions)
        {
            // rdh steers through the capture channel, not through actions.
        }

#if UNITY_EDITOR
        void Reset()
        {
            // Called by the Editor when the component is added: the settings the bridge expects.
            var parameters = GetComponent<BehaviorParameters>();
            parameters.BehaviorName = "RdhCapture";
            parameters.BrainParameters.VectorObservationSize = 1;
            parameters.BrainParameters.ActionSpec = ActionSpec.MakeContinuous(1);
            maskShader = Shader.Find(MaskShaderName);
        }

        void OnValidate()
        {
            if (maskShader == null)
            {
                maskShader = Shader.Find(MaskShaderName);
            }
        }
#endif

        // -- requests ---------------------------------------------------------------------------
        IEnumerator Serve()
        {
            while (true)
            {
                if (m_Channel.TryTake(out var request))
                {
                    yield return Handle(request);
                }
                else
                {
                    yield return null;
                }
            }
        }

        IEnumerator Handle(CaptureRequest request)
        {
            var reply = new CaptureReply { id = request.id, op = request.op };
            IEnumerator wait = null;
            try
            {
                if (request.v != CaptureProtocol.Version)
                {
                    throw new CaptureException($"capture protocol version {request.v} is not {CaptureProtocol.Version}: use the rdh Unity package that comes with your rdh");
                }
                wait = Begin(request, reply);
            }
            catch (CaptureException e)
            {
                reply.Fail(e.Message);
            }
            catch (System.Exception e)
            {
                Debug.LogException(e);
                reply.Fail($"{e.GetType().Name}: {e.Message}");
            }
            if (wait != null)
            {
                yield return wait;  // ops that take frames fill the reply (or its error) themselves
            }
            m_Channel.Send(reply);
        }

        /// <summary>Do the immediate part of a request; returns the frames-long rest, or null.</summary>
        IEnumerator Begin(CaptureRequest request, CaptureReply reply)
        {
            switch (request.op)
            {
                case "hello":
                    Hello(reply);
                    return null;
                case "ping":
                    return null;
                case "list_scenes":
                    reply.scenes = SceneNames();
                    return null;
                case "load_scene":
                    return LoadScene(request.scene, reply);
                case "set_viewpoint":
                    SetViewpoint(request.viewpoint, reply);
                    return null;
                case "set_foreground":
                    SetForeground(request.foreground, reply);
                    return null;
                case "set_style":
                    return SetStyle(request, reply);
                case "capture":
                    Capture(request, reply);
                    return null;
                default:
                    throw new CaptureException($"unknown op '{request.op}'");
            }
        }

        void Hello(CaptureReply reply)
        {
            reply.protocol = CaptureProtocol.Name;
            reply.version = CaptureProtocol.Version;
            reply.unity_version = Application.unityVersion;
            reply.package_version = CaptureProtocol.PackageVersion;
            reply.product = Application.productName;
            var sky = FindSky();
            reply.controller = sky != null ? sky.ControllerName : "none";
            if (sky != null && sky.Ready)
            {
                reply.weather_types = sky.WeatherNames;
            }
        }

        List<string> SceneNames()
        {
            if (sceneNames.Count > 0)
            {
                return new List<string>(sceneNames);
            }
            var names = new List<string>();
            for (var i = 0; i < SceneManager.sceneCountInBuildSettings; i++)
            {
                var sceneName = Path.GetFileNameWithoutExtension(SceneUtility.GetScenePathByBuildIndex(i));
                if (sceneName != m_BootstrapScene)
                {
                    names.Add(sceneName);
                }
            }
            if (names.Count == 0)
            {
                names.Add(m_BootstrapScene);  // a one-scene project: the content is in the bootstrap scene
            }
            return names;
        }

        IEnumerator LoadScene(string sceneName, CaptureReply reply)
        {
            var offered = SceneNames();
            if (!offered.Contains(sceneName))
            {
                reply.Fail($"no scene named '{sceneName}' (this build offers: {string.Join(", ", offered)})");
                yield break;
            }
            if (SceneManager.GetActiveScene().name != sceneName)
            {
                var loading = SceneManager.LoadSceneAsync(sceneName, LoadSceneMode.Single);
                if (loading == null)
                {
                    reply.Fail($"scene '{sceneName}' cannot be loaded: add it to the build's scene list");
                    yield break;
                }
                while (!loading.isDone)
                {
                    yield return null;  // the agent keeps exchanging with rdh while the scene loads
                }
            }
            for (var i = 0; i < sceneSettleFrames; i++)
            {
                yield return null;
            }
            m_Foreground = null;
            m_Viewpoints = FindFirstObjectByType<ViewpointRegistry>();
            m_Foregrounds = FindFirstObjectByType<ForegroundRegistry>();
            reply.scene = sceneName;
            if (m_Viewpoints != null)
            {
                foreach (var v in m_Viewpoints.All())
                {
                    reply.viewpoints.Add(new NamedItem { name = v.Name, category = "" });
                }
            }
            if (m_Foregrounds != null)
            {
                foreach (var f in m_Foregrounds.All())
                {
                    reply.foregrounds.Add(new NamedItem { name = f.Name, category = f.category });
                }
            }
        }

        void SetViewpoint(string viewpointName, CaptureReply reply)
        {
            if (m_Viewpoints == null)
            {
                throw new CaptureException("the loaded scene has no ViewpointRegistry (or no scene was loaded): add one, then load_scene");
            }
            var viewpoint = m_Viewpoints.Find(viewpointName);
            var camera = CaptureCamera();
            camera.transform.SetPositionAndRotation(viewpoint.pose.position, viewpoint.pose.rotation);
            if (viewpoint.fieldOfView > 0f)
            {
                camera.fieldOfView = viewpoint.fieldOfView;
            }
            reply.viewpoint = viewpoint.Name;
            reply.camera = new CameraInfo
            {
                position = camera.transform.position, rotation = camera.transform.eulerAngles, fov = camera.fieldOfView,
            };
        }

        void SetForeground(string foregroundName, CaptureReply reply)
        {
            if (m_Foregrounds == null)
            {
                throw new CaptureException("the loaded scene has no ForegroundRegistry (or no scene was loaded): add one, then load_scene");
            }
            m_Foreground = m_Foregrounds.Choose(foregroundName);
            reply.foreground = m_Foreground.Name;
            reply.category = m_Foreground.category;
        }

        IEnumerator SetStyle(CaptureRequest request, CaptureReply reply)
        {
            var sky = FindSky();
            if (sky == null)
            {
                reply.Fail("no SkyController in the loaded scenes: add a DirectionalLightSkyController or a UniStormSkyController");
                yield break;
            }
            string error = null;
            int hour = 0, minute = 0;
            try
            {
                SkyController.ParseTime(request.time, out hour, out minute);
            }
            catch (CaptureException e)
            {
                error = e.Message;
            }
            var deadline = Time.realtimeSinceStartup + skyReadyTimeout;
            while (error == null && !sky.Ready)
            {
                if (Time.realtimeSinceStartup > deadline)
                {
                    error = $"the {sky.ControllerName} sky was not ready after {skyReadyTimeout} s";
                }
                yield return null;
            }
            if (error == null)
            {
                try
                {
                    reply.weather_type = sky.Apply(request.weather, hour, minute);
                }
                catch (CaptureException e)
                {
                    error = e.Message;
                }
            }
            if (error != null)
            {
                reply.Fail(error);
                yield break;
            }
            for (var i = 0; i < request.settle_frames; i++)
            {
                yield return null;  // sky, clouds, reflections and lighting catch up
            }
            reply.weather = request.weather;
            reply.time = sky.AppliedTime;
            sky.Describe(reply.values);
        }

        void Capture(CaptureRequest request, CaptureReply reply)
        {
            if (request.width < 1 || request.height < 1 || request.width > 8192 || request.height > 8192)
            {
                throw new CaptureException($"capture size {request.width}x{request.height} is out of 1..8192");
            }
            if (string.IsNullOrEmpty(request.folder) || !Path.IsPathRooted(request.folder))
            {
                throw new CaptureException($"capture folder '{request.folder}' is not an absolute path");
            }
            var camera = CaptureCamera();
            Directory.CreateDirectory(request.folder);
            var watch = Stopwatch.StartNew();
            if (!string.IsNullOrEmpty(request.image))
            {
                var path = Path.Combine(request.folder, PlainFileName(request.image));
                FrameCapture.WriteImage(camera, request.width, request.height, path);
                reply.image = path;
            }
            if (!string.IsNullOrEmpty(request.mask))
            {
                if (m_Foreground == null || m_Foreground.target == null)
                {
                    throw new CaptureException("no foreground chosen: send set_foreground first");
                }
                var path = Path.Combine(request.folder, PlainFileName(request.mask));
                FrameCapture.WriteMask(camera, m_Foreground.target, occluderLayers, MaskShader(), request.width,
                    request.height, path);
                reply.mask = path;
            }
            reply.width = request.width;
            reply.height = request.height;
            reply.foreground = m_Foreground != null ? m_Foreground.Name : "";
            reply.category = m_Foreground != null ? m_Foreground.category : "";
            reply.ms = (float)watch.Elapsed.TotalMilliseconds;
        }

        // -- helpers ----------------------------------------------------------------------------
        Camera CaptureCamera()
        {
            var camera = captureCamera != null ? captureCamera : Camera.main;
            if (camera == null)
            {
                throw new CaptureException("no capture camera: assign CaptureAgent.captureCamera, or tag a camera MainCamera in each scene");
            }
            return camera;
        }

        SkyController FindSky()
        {
            if (skyController != null && skyController.isActiveAndEnabled)
            {
                return skyController;
            }
            return FindFirstObjectByType<SkyController>();
        }

        Shader MaskShader()
        {
            return maskShader != null ? maskShader : Shader.Find(MaskShaderName);
        }

        static string PlainFileName(string name)
        {
            if (Path.GetFileName(name) != name)
            {
                throw new CaptureException($"file name '{name}' must not contain a folder");
            }
            return name;
        }
    }
}
