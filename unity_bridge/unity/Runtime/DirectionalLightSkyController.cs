using System;
using System.Collections.Generic;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>How a weather looks with a plain directional light.</summary>
    [Serializable]
    public class WeatherLook
    {
        [Tooltip("rdh weather name: Clear, Partly Cloudy or Cloudy.")]
        public string name = "Clear";

        [Tooltip("Sun intensity when the sun is highest.")]
        public float sunIntensity = 1.2f;

        [Tooltip("0 = clear sky, 1 = overcast: dims the sun and softens its shadows.")]
        [Range(0f, 1f)]
        public float cloudCover;
    }

    /// <summary>
    /// The sky controller for projects without UniStorm: turns one directional light (the sun)
    /// with the clock and dims it with the clouds. Sunrise and sunset warm its colour; at night the
    /// sun is off and only the ambient light remains.
    /// </summary>
    [AddComponentMenu("rdh/Directional Light Sky Controller")]
    public class DirectionalLightSkyController : SkyController
    {
        [Tooltip("The sun. Empty: RenderSettings.sun, or the brightest directional light.")]
        public Light sun;

        [Tooltip("Hour of sunrise (e.g. 5.5 = 05:30).")]
        public float sunriseHour = 5.5f;

        [Tooltip("Hour of sunset (e.g. 18.5 = 18:30).")]
        public float sunsetHour = 18.5f;

        [Tooltip("Compass direction of sunrise, degrees around the up axis from +Z towards +X (90 = +X).")]
        public float sunriseAzimuth = 90f;

        [Tooltip("Sun elevation at midday, degrees.")]
        [Range(1f, 90f)]
        public float maxElevation = 65f;

        [Tooltip("Sun colour when it touches the horizon; it turns white above 30 degrees.")]
        public Color lowSunColor = new Color(1f, 0.55f, 0.3f);

        [Tooltip("RenderSettings.ambientIntensity at midday and at night.")]
        public float dayAmbient = 1f;
        public float nightAmbient = 0.15f;

        [Tooltip("The weathers this controller knows.")]
        public List<WeatherLook> weathers = new List<WeatherLook>
        {
            new WeatherLook { name = "Clear", sunIntensity = 1.3f, cloudCover = 0f },
            new WeatherLook { name = "Partly Cloudy", sunIntensity = 1.1f, cloudCover = 0.4f },
            new WeatherLook { name = "Cloudy", sunIntensity = 0.9f, cloudCover = 0.85f },
        };

        int m_Hour = 12;
        int m_Minute;

        public override string ControllerName => "directional_light";

        public override List<string> WeatherNames => weathers.FindAll(w => w != null).ConvertAll(w => w.name ?? "");

        public override string AppliedTime => $"{m_Hour:00}:{m_Minute:00}";

        public override string Apply(string weather, int hour, int minute, int seed)
        {
            var look = weathers.Find(w => w != null && w.name == weather);
            if (look == null)
            {
                throw new CaptureException($"no weather named '{weather}' in the DirectionalLightSkyController (known: {string.Join(", ", WeatherNames)})");
            }
            var light = sun != null ? sun : FindSun();
            if (light == null)
            {
                throw new CaptureException("the scene has no directional light to act as the sun: add one or assign DirectionalLightSkyController.sun");
            }
            m_Hour = hour;
            m_Minute = minute;
            var day = (hour + minute / 60f - sunriseHour) / (sunsetHour - sunriseHour);  // 0 at sunrise, 1 at sunset
            if (day > 0f && day < 1f)
            {
                var elevation = maxElevation * Mathf.Sin(Mathf.PI * day);
                var azimuth = sunriseAzimuth + 180f * day;
                // A directional light shines along its forward axis: face away from the sun.
                light.transform.rotation = Quaternion.Euler(elevation, azimuth + 180f, 0f);
                var height = Mathf.Sin(elevation * Mathf.Deg2Rad);
                light.enabled = true;
                light.intensity = look.sunIntensity * Mathf.Sqrt(height) * (1f - 0.75f * look.cloudCover);
                light.color = Color.Lerp(lowSunColor, Color.white, Mathf.Clamp01(elevation / 30f));
                light.shadowStrength = 1f - 0.8f * look.cloudCover;
                RenderSettings.ambientIntensity = Mathf.Lerp(nightAmbient, dayAmbient, height);
            }
            else
            {
                light.transform.rotation = Quaternion.Euler(-20f, sunriseAzimuth, 0f);
                light.enabled = false;
                RenderSettings.ambientIntensity = nightAmbient;
            }
            DynamicGI.UpdateEnvironment();  // ambient probes follow the new light
            return look.name;
        }
    }
}
