// Stub of the UniStorm 5.x surface UniStormSkyController uses; see README.md.
using System.Collections.Generic;
using UnityEngine;

namespace UniStorm
{
    public class WeatherType : ScriptableObject
    {
        public string WeatherTypeName = "";
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
    }

    public class UniStormManager : MonoBehaviour
    {
        public static UniStormManager Instance = null;
        public void SetTime(int Hour, int Minute) { }
        public void ChangeWeatherInstantly(WeatherType weatherType) { }
        public void RegenerateForecast() { }
    }
}
