// Stub of the UniStorm 5.x surface UniStormSkyController uses; see README.md.
using System.Collections.Generic;
using UnityEngine;

namespace UniStorm
{
    public class WeatherType : ScriptableObject
    {
        public enum CloudLevelEnum { Clear = 0, MostlyClear = 1, PartyCloudy = 2, MostlyCloudy = 3, Cloudy = 4, DontChange = 5 }
        public string WeatherTypeName = "";
        public CloudLevelEnum CloudLevel;
    }

    public class UniStormSystem : MonoBehaviour
    {
        public static UniStormSystem Instance = null;
        public enum EnableFeature { Enabled = 0, Disabled }
        public enum WeatherGenerationMethodEnum { Hourly = 0, Daily = 1 }
        public bool UniStormInitialized = false;
        public List<WeatherType> AllWeatherTypes = new List<WeatherType>();
        public WeatherType CurrentWeatherType;
        public EnableFeature TimeFlow = EnableFeature.Enabled;
        public EnableFeature WeatherGeneration = EnableFeature.Enabled;
        public WeatherGenerationMethodEnum WeatherGenerationMethod = WeatherGenerationMethodEnum.Daily;
        public int Hour;
        public int Minute;
        public float m_TimeFloat;
        public GameObject m_EffectsTransform;
        public Camera PlayerCamera;
        [System.Serializable]
        public class MoonPhaseClass
        {
            public Texture MoonPhaseTexture = null;
            public float MoonPhaseIntensity = 1;
        }
        public List<MoonPhaseClass> MoonPhaseList = new List<MoonPhaseClass>();
        public int MoonPhaseIndex = 5;
        public float MoonPhaseIntensity = 1;
        public Material m_MoonPhaseMaterial;
    }

    public class UniStormManager : MonoBehaviour
    {
        public static UniStormManager Instance = null;
        public void SetTime(int Hour, int Minute) { }
        public void ChangeWeatherInstantly(WeatherType weatherType) { }
        public void RegenerateForecast() { }
    }
}

namespace UniStorm.Utility
{
    public class UniStormClouds : MonoBehaviour
    {
        public Material skyMaterial;
    }
}
