// Stub of the UnityEngine surface the rdh package uses (Unity 2021.3 signatures); see README.md.
using System;
using System.Collections;
using System.Collections.Generic;

namespace UnityEngine
{
    [Flags] public enum HideFlags { None = 0, HideAndDontSave = 61 }
    public enum CameraClearFlags { Skybox = 1, SolidColor = 2, Depth = 3, Nothing = 4 }
    public enum RenderingPath { UsePlayerSettings = -1, VertexLit = 0, Forward = 1, DeferredShading = 3 }
    [Flags] public enum DepthTextureMode { None = 0, Depth = 1 }
    public enum TextureFormat { RGB24 = 3, RGBA32 = 4 }
    public enum RenderTextureFormat { ARGB32 = 0 }
    public enum RenderTextureReadWrite { Default = 0, Linear = 1, sRGB = 2 }
    public enum LightType { Spot = 0, Directional = 1, Point = 2 }

    public class Object
    {
        public string name { get; set; }
        public HideFlags hideFlags { get; set; }
        public static T FindObjectOfType<T>() where T : Object { return null; }
        public static T[] FindObjectsOfType<T>() where T : Object { return new T[0]; }
        public static T[] FindObjectsOfType<T>(bool includeInactive) where T : Object { return new T[0]; }
        public static void Destroy(Object obj) { }
        public static void DontDestroyOnLoad(Object target) { }
        public static implicit operator bool(Object exists) { return exists != null; }
    }

    public class ScriptableObject : Object { }

    public class Component : Object
    {
        public GameObject gameObject { get { return null; } }
        public Transform transform { get { return null; } }
        public T GetComponent<T>() { return default(T); }
        public T[] GetComponentsInChildren<T>(bool includeInactive) { return new T[0]; }
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; }
        public bool isActiveAndEnabled { get { return false; } }
    }

    public class YieldInstruction { }
    public sealed class Coroutine : YieldInstruction { }
    public class AsyncOperation : YieldInstruction { public bool isDone { get { return true; } } }

    public class MonoBehaviour : Behaviour
    {
        public Coroutine StartCoroutine(IEnumerator routine) { return null; }
    }

    public sealed class GameObject : Object
    {
        public GameObject(string name) { }
        public Transform transform { get { return null; } }
        public int layer { get; set; }
        public bool activeInHierarchy { get { return false; } }
        public UnityEngine.SceneManagement.Scene scene { get { return default(UnityEngine.SceneManagement.Scene); } }
        public void SetActive(bool value) { }
        public T AddComponent<T>() where T : Component { return null; }
        public T[] GetComponentsInChildren<T>(bool includeInactive) { return new T[0]; }
    }

    public class Transform : Component, IEnumerable
    {
        public Vector3 position { get; set; }
        public Quaternion rotation { get; set; }
        public Vector3 eulerAngles { get; set; }
        public Vector3 forward { get { return default(Vector3); } }
        public Transform root { get { return null; } }
        public void SetPositionAndRotation(Vector3 position, Quaternion rotation) { }
        public bool IsChildOf(Transform parent) { return false; }
        public IEnumerator GetEnumerator() { yield break; }
    }

    public struct Vector2 { public float x, y; public Vector2(float x, float y) { this.x = x; this.y = y; } }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public static Vector3 up { get { return new Vector3(0, 1, 0); } }
        public static Vector3 forward { get { return new Vector3(0, 0, 1); } }
        public static Vector3 operator +(Vector3 a, Vector3 b) { return new Vector3(a.x + b.x, a.y + b.y, a.z + b.z); }
        public static float Angle(Vector3 from, Vector3 to) { return 0f; }
        public static Vector3 operator -(Vector3 a) { return new Vector3(-a.x, -a.y, -a.z); }
    }

    public struct Vector4
    {
        public float x, y, z, w;
        public Vector4(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
    }

    public struct Quaternion
    {
        public static Quaternion identity { get { return default(Quaternion); } }
        public static Quaternion Euler(float x, float y, float z) { return default(Quaternion); }
    }

    public struct Color
    {
        public float r, g, b, a;
        public Color(float r, float g, float b) { this.r = r; this.g = g; this.b = b; a = 1f; }
        public Color(float r, float g, float b, float a) { this.r = r; this.g = g; this.b = b; this.a = a; }
        public static Color white { get { return new Color(1, 1, 1); } }
        public static Color Lerp(Color a, Color b, float t) { return a; }
    }

    public struct Rect { public Rect(float x, float y, float width, float height) { } }

    public struct LayerMask
    {
        int m_Mask;
        public static implicit operator int(LayerMask mask) { return mask.m_Mask; }
        public static implicit operator LayerMask(int intVal) { LayerMask m; m.m_Mask = intVal; return m; }
    }

    public struct Mathf
    {
        public const float PI = 3.14159274f;
        public const float Deg2Rad = PI / 180f;
        public static int Max(int a, int b) { return a > b ? a : b; }
        public static float Abs(float f) { return f < 0 ? -f : f; }
        public static float Sin(float f) { return 0f; }
        public static float Sqrt(float f) { return 0f; }
        public static float Clamp01(float value) { return value; }
        public static float Lerp(float a, float b, float t) { return a; }
    }

    public static class Time
    {
        public static float timeScale { get; set; }
        public static float realtimeSinceStartup { get { return 0f; } }
    }

    public static class Random
    {
        public static void InitState(int seed) { }
    }

    public static class Application
    {
        public static string unityVersion { get { return ""; } }
        public static string productName { get { return ""; } }
    }

    public static class Debug
    {
        public static void Log(object message) { }
        public static void LogWarning(object message) { }
        public static void LogException(Exception exception) { }
    }

    public static class JsonUtility
    {
        public static T FromJson<T>(string json) { return default(T); }
        public static string ToJson(object obj) { return ""; }
    }

    public static class QualitySettings { public static int antiAliasing { get; set; } }

    public sealed class RenderSettings : Object
    {
        public static Light sun { get; set; }
        public static float ambientIntensity { get; set; }
        public static bool fog { get; set; }
        public static float fogDensity { get; set; }
    }

    public sealed class DynamicGI { public static void UpdateEnvironment() { } }

    public sealed class Shader : Object
    {
        public static Shader Find(string name) { return null; }
        public static int PropertyToID(string name) { return 0; }
    }

    public class Texture : Object { }

    public sealed class Texture2D : Texture
    {
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain) { }
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain, bool linear) { }
        public void ReadPixels(Rect source, int destX, int destY, bool recalculateMipMaps) { }
        public void Apply(bool updateMipmaps) { }
        public byte[] GetRawTextureData() { return new byte[0]; }
        public void LoadRawTextureData(byte[] data) { }
    }

    public static class ImageConversion
    {
        public static byte[] EncodeToPNG(this Texture2D tex) { return new byte[0]; }
    }

    public class RenderTexture : Texture
    {
        public static RenderTexture active { get; set; }
        public int width { get { return 0; } }
        public int height { get { return 0; } }
        public static RenderTexture GetTemporary(int width, int height, int depthBuffer, RenderTextureFormat format,
            RenderTextureReadWrite readWrite, int antiAliasing) { return null; }
        public static void ReleaseTemporary(RenderTexture temp) { }
    }

    public class Material : Object
    {
        public Material(Shader shader) { }
        public Shader shader { get; set; }
        public int renderQueue { get; set; }
        public bool IsKeywordEnabled(string keyword) { return false; }
        public bool HasProperty(string name) { return false; }
        public float GetFloat(string name) { return 0f; }
        public Color GetColor(string name) { return default(Color); }
        public Texture GetTexture(string name) { return null; }
        public Vector2 GetTextureScale(string name) { return default(Vector2); }
        public Vector2 GetTextureOffset(string name) { return default(Vector2); }
        public string GetTag(string tag, bool searchFallbacks, string defaultValue) { return defaultValue; }
        public void SetFloat(int nameID, float value) { }
        public void SetFloat(string name, float value) { }
        public void SetTexture(string name, Texture value) { }
        public void SetVector(int nameID, Vector4 value) { }
        public void SetTexture(int nameID, Texture value) { }
        public void SetTextureScale(int nameID, Vector2 value) { }
        public void SetTextureOffset(int nameID, Vector2 value) { }
    }

    public sealed class MaterialPropertyBlock
    {
        public bool isEmpty { get { return true; } }
        public void SetVector(int nameID, Vector4 value) { }
    }

    public sealed class Mesh : Object
    {
        public Mesh() { }
        public Vector3[] vertices { get; set; }
        public Vector3[] normals { get; set; }
        public Vector2[] uv { get; set; }
        public int[] triangles { get; set; }
        public void RecalculateBounds() { }
    }

    public sealed class MeshFilter : Component { public Mesh sharedMesh { get; set; } }

    public class Renderer : Component
    {
        public bool enabled { get; set; }
        public bool forceRenderingOff { get; set; }
        public Material sharedMaterial { get; set; }
        public Material[] sharedMaterials { get; set; }
        public bool HasPropertyBlock() { return false; }
        public void GetPropertyBlock(MaterialPropertyBlock properties) { }
        public void GetPropertyBlock(MaterialPropertyBlock properties, int materialIndex) { }
        public void SetPropertyBlock(MaterialPropertyBlock properties) { }
        public void SetPropertyBlock(MaterialPropertyBlock properties, int materialIndex) { }
    }

    public sealed class ParticleSystemRenderer : Renderer { }
    public sealed class TrailRenderer : Renderer { }
    public sealed class LineRenderer : Renderer { }
    public sealed class BillboardRenderer : Renderer { }
    public class MeshRenderer : Renderer { }
    public sealed class SpriteRenderer : Renderer { }
    public sealed class Projector : Behaviour { }

    public sealed class Camera : Behaviour
    {
        public static Camera main { get { return null; } }
        public float fieldOfView { get; set; }
        public RenderTexture targetTexture { get; set; }
        public CameraClearFlags clearFlags { get; set; }
        public Color backgroundColor { get; set; }
        public bool allowHDR { get; set; }
        public bool allowMSAA { get; set; }
        public RenderingPath renderingPath { get; set; }
        public DepthTextureMode depthTextureMode { get; set; }
        public int cullingMask { get; set; }
        public float aspect { get; set; }
        public bool orthographic { get; set; }
        public float orthographicSize { get; set; }
        public float nearClipPlane { get; set; }
        public float farClipPlane { get; set; }
        public void Render() { }
        public void CopyFrom(Camera other) { }
        public void ResetAspect() { }
        public void RemoveAllCommandBuffers() { }
    }

    public sealed class Light : Behaviour
    {
        public LightType type { get; set; }
        public float intensity { get; set; }
        public Color color { get; set; }
        public float shadowStrength { get; set; }
    }

    public sealed class Terrain : Behaviour
    {
        public static Terrain[] activeTerrains { get { return new Terrain[0]; } }
        public Material materialTemplate { get; set; }
        public bool drawHeightmap { get; set; }
        public bool drawTreesAndFoliage { get; set; }
        public bool drawInstanced { get; set; }
    }

    public class Animator : Behaviour { public float speed { get; set; } }

    public sealed class ParticleSystem : Component
    {
        public struct MainModule { public bool useUnscaledTime { get { return false; } set { } } }
        public MainModule main { get { return default(MainModule); } }
        public void Pause(bool withChildren) { }
        public void Simulate(float t, bool withChildren, bool restart, bool fixedTimeStep) { }
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)]
    public class PropertyAttribute : Attribute { }
    public class TooltipAttribute : PropertyAttribute { public TooltipAttribute(string tooltip) { } }
    public class HeaderAttribute : PropertyAttribute { public HeaderAttribute(string header) { } }
    public sealed class RangeAttribute : PropertyAttribute { public RangeAttribute(float min, float max) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class DisallowMultipleComponent : Attribute { }
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class RequireComponent : Attribute { public RequireComponent(Type requiredComponent) { } }
}

namespace UnityEngine.Rendering
{
    public abstract class RenderPipelineAsset : ScriptableObject { }

    public sealed class GraphicsSettings : Object
    {
        public static RenderPipelineAsset currentRenderPipeline { get { return null; } }
    }
}

namespace UnityEngine.Playables
{
    public enum DirectorUpdateMode { DSPClock = 0, GameTime = 1, UnscaledGameTime = 2, Manual = 3 }
    public enum PlayState { Paused = 0, Playing = 1 }

    public class PlayableDirector : Behaviour
    {
        public DirectorUpdateMode timeUpdateMode { get; set; }
        public PlayState state { get { return PlayState.Paused; } }
        public void Pause() { }
    }
}

namespace UnityEngine.AI
{
    public sealed class NavMeshAgent : Behaviour
    {
        public bool isOnNavMesh { get { return false; } }
        public bool isStopped { get; set; }
    }
}

namespace UnityEngine.SceneManagement
{
    public enum LoadSceneMode { Single = 0, Additive = 1 }

    public struct Scene { public string name { get { return ""; } } }

    public class SceneManager
    {
        public static int sceneCountInBuildSettings { get { return 0; } }
        public static Scene GetActiveScene() { return default(Scene); }
        public static AsyncOperation LoadSceneAsync(string sceneName, LoadSceneMode mode) { return null; }
    }

    public static class SceneUtility
    {
        public static string GetScenePathByBuildIndex(int buildIndex) { return ""; }
    }
}
