using System;
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
using UnityEngine.AI;
using UnityEngine.Playables;
using UnityEngine.Rendering;
using UnityEngine.SceneManagement;
using Debug = UnityEngine.Debug;

namespace Rdh.Capture
{
    /// <summary>
    /// The object rdh talks to. Put it in the first scene of the build (the bootstrap scene), on an
    /// object of its own. It survives scene loads, registers the capture side channel, steps
    /// ML-Agents once per rendered frame and requests a decision every step (ML-Agents only
    /// exchanges messages with rdh while an agent asks for decisions), and answers rdh's requests
    /// one at a time: load a scene (then pause it), place the camera on a viewpoint, choose the
    /// foreground, set weather and time, capture image and mask. Every request gets a reply: an
    /// exception in any frame of a request becomes that request's error reply, and the next
    /// request is served as usual. `hello` answers at once, with the sky's state (ready, pending
    /// or none: UniStorm may live in the content scenes only); load_scene and set_style wait for the
    /// sky. The mask pass checks itself (MaskProbe) at hello, after each scene load and whenever
    /// the render pipeline changes: a failed check is the request's error reply.
    /// Its Behavior Parameters: Behavior Name RdhCapture, Vector Observation Space Size 1,
    /// Continuous Actions 1, Behavior Type Default (filled in when the component is added).
    /// </summary>
    [AddComponentMenu("rdh/Capture Agent")]
    public class CaptureAgent : Agent
    {
        [Header("Capture")]
        [Tooltip("A camera of this bootstrap scene that renders the captures (it cannot reference a camera of a content scene). Empty: per loaded scene, the camera with a Capture Camera component, else the sky controller's camera (UniStorm's Player Camera), else the Main Camera.")]
        public Camera captureCamera;

        [Tooltip("Weather and time controller. Empty: the first active SkyController found in the loaded scenes.")]
        public SkyController skyController;

        [Tooltip("What can hide the foreground in its mask.")]
        public MaskSettings mask = new MaskSettings();

        [Tooltip("The package's Rdh/MaskUnlit shader (set when the component is added; the reference keeps it in builds).")]
        public Shader maskShader;

        [Header("Scenes")]
        [Tooltip("Scene names offered to rdh. Empty: every scene in the build's scene list except this bootstrap scene (or this scene if it is the only one).")]
        public List<string> sceneNames = new List<string>();

        [Tooltip("Frames to wait after a scene has loaded before pausing and describing it (UniStorm warms up for 25).")]
        public int sceneSettleFrames = 30;

        [Header("Pausing")]
        [Tooltip("Pause the world after each scene load, for the whole capture: Time.timeScale 0, animators and particle systems paused, NavMesh agents stopped. Images and masks of all styles then show the same pose.")]
        public bool pauseWorld = true;

        [Tooltip("Class names of your scripts to disable after each scene load (NPC brains, camera scripts, spawners that run on unscaled time), e.g. WanderAI.")]
        public List<string> disableScripts = new List<string>();

        [Header("Timing")]
        [Tooltip("Seconds to wait for the sky controller to be ready, and for it to show the requested weather and time.")]
        public float skyReadyTimeout = 30f;

        const string MaskShaderName = "Rdh/MaskUnlit";

        static CaptureAgent s_Instance;
        CaptureSideChannel m_Channel;
        string m_BootstrapScene;
        ViewpointRegistry m_Viewpoints;
        ForegroundRegistry m_Foregrounds;
        ForegroundCandidate m_Foreground;
        bool m_Paused;
        bool m_MaskChecked;
        RenderPipelineAsset m_CheckedPipeline;   // the pipeline the last passed self-check ran in

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
            // Stepped from Update: FixedUpdate, where ML-Agents steps by default, stops at Time.timeScale 0.
            Academy.Instance.AutomaticSteppingEnabled = false;
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
            if (s_Instance != this)
            {
                return;
            }
            try
            {
                Academy.Instance.EnvironmentStep();  // sends queued replies, receives new requests
            }
            catch (Exception e)
            {
                Debug.LogException(e);  // the next frame tries again; rdh reports a connection that broke
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
                CaptureRequest request = null;
                try
                {
                    m_Channel.TryTake(out request);
                }
                catch (Exception e)
                {
                    Debug.LogException(e);
                }
                if (request == null)
                {
                    yield return null;
                    continue;
                }
                var reply = new CaptureReply { id = request.id, op = request.op ?? "" };
                // Every frame of the request runs guarded: its exception is its reply, and Serve goes on.
                yield return StartCoroutine(GuardedSteps.Run(Handle(request, reply), e => Fail(reply, e)));
                try
                {
                    m_Channel.Send(reply);
                }
                catch (Exception e)
                {
                    Debug.LogException(e);
                    var fallback = new CaptureReply { id = reply.id, op = reply.op };
                    fallback.Fail($"the player could not send its reply: {e.GetType().Name}: {e.Message}");
                    m_Channel.Send(fallback);
                }
            }
        }

        static void Fail(CaptureReply reply, Exception e)
        {
            if (e is CaptureException)
            {
                reply.Fail(e.Message);
                return;
            }
            Debug.LogException(e);
            reply.Fail($"{e.GetType().Name} in the player: {e.Message} (the player log has the stack trace)");
        }

        /// <summary>An iterator, so that even its first checks run inside the guard.</summary>
        IEnumerator Handle(CaptureRequest request, CaptureReply reply)
        {
            if (!string.IsNullOrEmpty(request.parseError))
            {
                throw new CaptureException(request.parseError);
            }
            if (request.v != CaptureProtocol.Version)
            {
                throw new CaptureException($"capture protocol version {request.v} is not {CaptureProtocol.Version}: use the rdh Unity package that comes with your rdh");
            }
            var rest = Begin(request, reply);
            if (rest != null)
            {
                yield return rest;
            }
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

        /// <summary>Answered at once, with the sky's state: a sky that comes with the content scenes
        /// (UniStorm) is not there before the first load_scene, which waits for it.</summary>
        void Hello(CaptureReply reply)
        {
            var sky = FindSky();
            reply.protocol = CaptureProtocol.Name;
            reply.version = CaptureProtocol.Version;
            reply.unity_version = Application.unityVersion;
            reply.package_version = CaptureProtocol.PackageVersion;
            reply.product = Application.productName;
            reply.controller = sky != null ? sky.ControllerName : "none";
            reply.sky = SkyState(sky);
            reply.weather_types = sky != null && sky.Ready ? sky.WeatherNames : new List<string>();
            string pipeline;
            MaskCamera.CurrentPipeline(out pipeline);
            reply.render_pipeline = pipeline;
            reply.mask_check = CheckMask();
        }

        static string SkyState(SkyController sky)
        {
            return sky == null ? "none" : sky.Ready ? "ready" : "pending";
        }

        /// <summary>Run the mask's self-check now (CaptureException with the diagnosis when it fails).</summary>
        string CheckMask()
        {
            m_MaskChecked = false;
            var diagnosis = MaskProbe.Run(mask, MaskShader());
            m_CheckedPipeline = GraphicsSettings.currentRenderPipeline;
            m_MaskChecked = true;
            return diagnosis;
        }

        /// <summary>Check again when the render pipeline changed since the last check (a quality level with another asset).</summary>
        void EnsureMaskChecked()
        {
            if (!m_MaskChecked || GraphicsSettings.currentRenderPipeline != m_CheckedPipeline)
            {
                CheckMask();
            }
        }

        IEnumerator WaitForSky(SkyController sky)
        {
            var deadline = Time.realtimeSinceStartup + skyReadyTimeout;
            while (!sky.Ready)
            {
                if (Time.realtimeSinceStartup > deadline)
                {
                    throw new CaptureException($"the {sky.ControllerName} sky was not ready after {skyReadyTimeout} s (Sky Ready Timeout)");
                }
                yield return null;
            }
        }

        List<string> SceneNames()
        {
            if (sceneNames.Count > 0)
            {
                return sceneNames.FindAll(n => !string.IsNullOrEmpty(n));
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
                throw new CaptureException($"no scene named '{sceneName}' (this build offers: {string.Join(", ", offered.ToArray())})");
            }
            if (SceneManager.GetActiveScene().name != sceneName)
            {
                // The new scene starts unpaused: its sky and its scripts initialize as in a game.
                Time.timeScale = 1f;
                m_Paused = false;
                var loading = SceneManager.LoadSceneAsync(sceneName, LoadSceneMode.Single);
                if (loading == null)
                {
                    throw new CaptureException($"scene '{sceneName}' cannot be loaded: add it to the build's scene list");
                }
                while (!loading.isDone)
                {
                    yield return null;  // the agent keeps exchanging with rdh while the scene loads
                }
                for (var i = 0; i < sceneSettleFrames; i++)
                {
                    yield return null;
                }
            }
            var sky = FindSky();
            if (sky != null)
            {
                yield return WaitForSky(sky);  // UniStorm initializes on scaled time: before the pause
            }
            PauseWorld();
            m_Foreground = null;
            m_Viewpoints = FindObjectOfType<ViewpointRegistry>();
            m_Foregrounds = FindObjectOfType<ForegroundRegistry>();
            reply.scene = sceneName;
            reply.controller = sky != null ? sky.ControllerName : "none";
            reply.sky = SkyState(sky);
            reply.weather_types = sky != null ? sky.WeatherNames : new List<string>();
            reply.paused = m_Paused;
            reply.mask_check = CheckMask();   // the scene may switch renderer features on (UniStorm's)
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

        /// <summary>Freeze what moves by itself, so that every style and its mask show the same pose.
        /// Inactive objects too: a foreground candidate shown later (Show Only Chosen) must not move.</summary>
        void PauseWorld()
        {
            if (!pauseWorld)
            {
                return;
            }
            Time.timeScale = 0f;  // scaled-time animation, physics (FixedUpdate), particles and scripts stop
            foreach (var animator in FindObjectsOfType<Animator>(true))
            {
                animator.speed = 0f;  // also those on unscaled time
            }
            foreach (var particles in FindObjectsOfType<ParticleSystem>(true))
            {
                if (particles.gameObject.activeInHierarchy)
                {
                    particles.Pause(false);
                }
                else
                {
                    var main = particles.main;
                    main.useUnscaledTime = false;   // shown later, it stays where scaled time (0) leaves it
                }
            }
            foreach (var director in FindObjectsOfType<PlayableDirector>(true))
            {
                director.timeUpdateMode = DirectorUpdateMode.Manual;   // no clock advances a timeline
                if (director.state == PlayState.Playing)
                {
                    director.Pause();
                }
            }
            foreach (var agent in FindObjectsOfType<NavMeshAgent>())
            {
                if (agent.isOnNavMesh)
                {
                    agent.isStopped = true;
                }
            }
            if (disableScripts.Count > 0)
            {
                foreach (var behaviour in FindObjectsOfType<MonoBehaviour>(true))
                {
                    if (behaviour != this && disableScripts.Contains(behaviour.GetType().Name))
                    {
                        behaviour.enabled = false;
                    }
                }
            }
            m_Paused = true;
        }

        void SetViewpoint(string viewpointName, CaptureReply reply)
        {
            if (m_Viewpoints == null)
            {
                throw new CaptureException("the loaded scene has no ViewpointRegistry (or no scene was loaded): add one, then load_scene");
            }
            var viewpoint = m_Viewpoints.Find(viewpointName);
            var camera = FindCaptureCamera();
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

        /// <summary>Apply the style, then wait at least settle_frames frames and settle_seconds of real
        /// time, and until the sky reports the requested weather and time.</summary>
        IEnumerator SetStyle(CaptureRequest request, CaptureReply reply)
        {
            var sky = FindSky();
            if (sky == null)
            {
                throw new CaptureException("no SkyController in the loaded scenes: add a DirectionalLightSkyController or a UniStormSkyController");
            }
            int hour, minute;
            CaptureRules.ParseTime(request.time, out hour, out minute);
            CaptureRules.Settle(request.settle_frames, request.settle_seconds);
            yield return WaitForSky(sky);
            var weatherType = sky.Apply(request.weather, hour, minute, request.seed);
            sky.Advance(request.settle_seconds);
            var start = Time.realtimeSinceStartup;
            var frames = 0;
            while (frames < request.settle_frames || Time.realtimeSinceStartup - start < request.settle_seconds)
            {
                yield return null;  // sky, clouds, reflections and lighting catch up
                sky.Reassert();     // what the sky system re-draws by itself (UniStorm's coverage, moon phase)
                frames++;
            }
            var deadline = Time.realtimeSinceStartup + skyReadyTimeout;
            while (!sky.InEffect(weatherType, hour, minute))   // reasserted in this frame, after the sky's own Update
            {
                if (Time.realtimeSinceStartup > deadline)
                {
                    throw new CaptureException($"the {sky.ControllerName} sky does not show '{weatherType}' at {request.time} {skyReadyTimeout} s after it was set (it shows {sky.AppliedTime}): something else changes weather or time (a day/night script, UniStorm's weather generation)");
                }
                yield return null;
                sky.Reassert();
                frames++;
            }
            reply.weather = request.weather;
            reply.weather_type = weatherType;
            reply.time = sky.AppliedTime;
            reply.frames = frames;
            reply.seconds = Time.realtimeSinceStartup - start;
            sky.Describe(reply.values);
        }

        void Capture(CaptureRequest request, CaptureReply reply)
        {
            CaptureRules.Size(request.width, request.height);
            var folder = CaptureRules.Folder(request.folder);
            var imageName = string.IsNullOrEmpty(request.image) ? "" : CaptureRules.PlainFileName(request.image);
            var maskName = string.IsNullOrEmpty(request.mask) ? "" : CaptureRules.PlainFileName(request.mask);
            if (maskName != "" && (m_Foreground == null || m_Foreground.target == null))
            {
                throw new CaptureException("no foreground chosen: send set_foreground first");
            }
            var sky = FindSky();
            var camera = FindCaptureCamera(sky);
            if (sky != null)
            {
                sky.Reassert();   // the same frame as the render: nothing of the sky's own can slip in between
            }
            if (maskName != "")
            {
                EnsureMaskChecked();
            }
            Directory.CreateDirectory(folder);
            var watch = Stopwatch.StartNew();
            if (imageName != "")
            {
                var path = Path.Combine(folder, imageName);
                FrameCapture.WriteImage(camera, request.width, request.height, path);
                reply.image = path;
            }
            if (maskName != "")
            {
                var path = Path.Combine(folder, maskName);
                var result = FrameCapture.WriteMask(camera, m_Foreground.target, mask, MaskShader(), request.width, request.height, path);
                reply.mask = path;
                reply.mask_pass_diff = result.disagreeingPixels;
            }
            reply.width = request.width;
            reply.height = request.height;
            reply.foreground = m_Foreground != null ? m_Foreground.Name : "";
            reply.category = m_Foreground != null ? m_Foreground.category : "";
            reply.ms = (float)watch.Elapsed.TotalMilliseconds;
        }

        // -- helpers ----------------------------------------------------------------------------
        /// <summary>The capture camera: the agent's own (a camera of the bootstrap scene), else the loaded
        /// scene's Capture Camera component, else the sky's camera (UniStorm's Player Camera), else Camera.main.
        /// `sky`: the sky controller when the caller has found it already (else it is looked up only if needed).</summary>
        Camera FindCaptureCamera(SkyController sky = null)
        {
            if (captureCamera != null)
            {
                return captureCamera;
            }
            var marked = FindObjectOfType<CaptureCamera>();
            if (marked != null && marked.Camera != null)
            {
                return marked.Camera;
            }
            if (sky == null)
            {
                sky = FindSky();
            }
            var camera = sky != null && sky.SkyCamera != null ? sky.SkyCamera : Camera.main;
            if (camera == null)
            {
                throw new CaptureException("no capture camera: add a Capture Camera component (rdh/Capture Camera) to the camera of each content scene, or tag it MainCamera");
            }
            return camera;
        }

        SkyController FindSky()
        {
            if (skyController != null && skyController.isActiveAndEnabled)
            {
                return skyController;
            }
            return FindObjectOfType<SkyController>();
        }

        Shader MaskShader()
        {
            return maskShader != null ? maskShader : Shader.Find(MaskShaderName);
        }
    }
}
