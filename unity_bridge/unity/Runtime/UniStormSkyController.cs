// Compiled only when UniStorm is in the project: the Runtime assembly definition defines RDH_UNISTORM
// through a version define (UniStorm as a package named com.blackhorizonstudios.unistorm), or you add
// RDH_UNISTORM to Player Settings > Scripting Define Symbols. Either way UniStorm needs an assembly
// definition named "UniStorm" (docs/unity.md, "UniStorm").
#if RDH_UNISTORM
using System;
using System.Collections.Generic;
using UniStorm;
using UniStorm.Utility;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>An rdh weather name and the UniStorm weather type that shows it.</summary>
    [Serializable]
    public class WeatherAlias
    {
        [Tooltip("rdh weather name: Clear, Partly Cloudy or Cloudy.")]
        public string rdhName = "Cloudy";

        [Tooltip("Weather Type Name in UniStorm's All Weather Types list, e.g. Mostly Cloudy.")]
        public string uniStormName = "Mostly Cloudy";
    }

    /// <summary>The cloud coverage (_uCloudsCoverage) rdh draws, from the style's seed, for a cloud level.</summary>
    [Serializable]
    public class CloudCoverageRange
    {
        public WeatherType.CloudLevelEnum level = WeatherType.CloudLevelEnum.Clear;
        public float min = 0.25f;
        public float max = 0.25f;
    }

    /// <summary>
    /// Sets UniStorm's weather and time for a capture (written against UniStorm 5.x): waits until
    /// UniStorm is initialized, switches its clock and weather generator off, sets Daily
    /// generation (Hourly re-rolls the weather from the forecast whenever the hour is set), sets the
    /// time first and then the weather instantly (looked up by name in All Weather Types).
    /// UniStorm re-seeds UnityEngine.Random from the clock when it draws the cloud coverage of the new
    /// weather, and advances the moon phase whenever its clock passes noon (so with the order of the
    /// styles); after UniStorm's own calls this controller therefore sets both from the style's seed
    /// (<see cref="SkySeeds"/>: coverage within the range of the weather's cloud level, a phase of the
    /// Moon Phase List) and keeps them set (<see cref="Reassert"/>) until the capture. Works on the
    /// bootstrap object (it survives the loads; UniStorm comes with each content scene) or in each
    /// content scene. The agent waits the settle frames and seconds and until <see cref="InEffect"/>.
    /// </summary>
    [AddComponentMenu("rdh/UniStorm Sky Controller")]
    public class UniStormSkyController : SkyController
    {
        [Tooltip("rdh weather names whose UniStorm weather type has another name. Names not listed are looked up as they are.")]
        public List<WeatherAlias> aliases = new List<WeatherAlias>();

        [Tooltip("Advance UniStorm's weather particles (rain, snow) by the settle seconds while the world is paused, so they show as if they had been falling.")]
        public bool advanceWeatherParticles = true;

        [Tooltip("Set the cloud coverage from the style's seed, within the range of the weather type's Cloud Level (UniStorm draws it from the clock). A level not listed (Don't Change) keeps UniStorm's.")]
        public bool seedCloudCoverage = true;

        [Tooltip("Cloud coverage ranges per Cloud Level. The defaults are the ranges UniStorm 5.x draws from in a linear-colour-space project; adjust them to your UniStorm version.")]
        public List<CloudCoverageRange> cloudCoverage = new List<CloudCoverageRange>
        {
            new CloudCoverageRange { level = WeatherType.CloudLevelEnum.Clear, min = 0.25f, max = 0.25f },
            new CloudCoverageRange { level = WeatherType.CloudLevelEnum.MostlyClear, min = 0.36f, max = 0.39f },
            new CloudCoverageRange { level = WeatherType.CloudLevelEnum.PartyCloudy, min = 0.44f, max = 0.47f },
            new CloudCoverageRange { level = WeatherType.CloudLevelEnum.MostlyCloudy, min = 0.48f, max = 0.50f },
            new CloudCoverageRange { level = WeatherType.CloudLevelEnum.Cloudy, min = 0.51f, max = 0.54f },
        };

        [Tooltip("Set the moon phase from the style's seed (UniStorm advances it every time its clock passes noon).")]
        public bool seedMoonPhase = true;

        const string CoverageProperty = "_uCloudsCoverage";
        const string MoonTextureProperty = "_MainTex";
        WeatherType m_Applied;
        UniStormClouds m_Clouds;
        float m_Coverage = float.NaN;   // NaN: left to UniStorm
        int m_MoonPhase = -1;           // -1: left to UniStorm

        public override string ControllerName => "unistorm";

        public override Camera SkyCamera => UniStormSystem.Instance != null ? UniStormSystem.Instance.PlayerCamera : null;

        public override bool Ready =>
            UniStormSystem.Instance != null && UniStormSystem.Instance.UniStormInitialized && UniStormManager.Instance != null;

        public override List<string> WeatherNames
        {
            get
            {
                var names = new List<string>();
                if (UniStormSystem.Instance != null && UniStormSystem.Instance.AllWeatherTypes != null)
                {
                    foreach (var type in UniStormSystem.Instance.AllWeatherTypes)
                    {
                        if (type != null)  // an empty slot in All Weather Types
                        {
                            names.Add(type.WeatherTypeName);
                        }
                    }
                }
                return names;
            }
        }

        public override string AppliedTime => $"{UniStormSystem.Instance.Hour:00}:{UniStormSystem.Instance.Minute:00}";

        public override string Apply(string weather, int hour, int minute, int seed)
        {
            var system = UniStormSystem.Instance;
            var alias = aliases.Find(a => a != null && a.rdhName == weather);
            var typeName = alias != null ? alias.uniStormName : weather;
            var type = system.AllWeatherTypes.Find(t => t != null && t.WeatherTypeName == typeName);
            if (type == null)
            {
                throw new CaptureException($"no weather type named '{typeName}' in UniStorm's All Weather Types (known: {string.Join(", ", WeatherNames)}): add it or an alias on the UniStormSkyController");
            }
            // A capture shows the requested sky: no clock running, no weather picked by UniStorm itself.
            system.TimeFlow = UniStormSystem.EnableFeature.Disabled;
            system.WeatherGeneration = UniStormSystem.EnableFeature.Disabled;
            system.WeatherGenerationMethod = UniStormSystem.WeatherGenerationMethodEnum.Daily;
            // Time first: a new hour makes UniStorm consult its forecast, which must not undo the weather.
            UniStormManager.Instance.SetTime(hour, minute);
            // SetTime stores hour/24 + minute/1440 in a float and UniStorm truncates it back to minutes;
            // a tenth of a minute more keeps float rounding from showing the minute before.
            system.m_TimeFloat += 0.1f / 1440f;
            // UniStorm seeds Random from the clock; the forecast and the clouds drawn from it must not vary.
            UnityEngine.Random.InitState(seed);
            UniStormManager.Instance.RegenerateForecast();
            UnityEngine.Random.InitState(seed);
            UniStormManager.Instance.ChangeWeatherInstantly(type);
            m_Applied = type;
            // ChangeWeatherInstantly re-seeded Random from the clock and drew the coverage: set it, and the
            // moon phase, from the seed instead.
            m_Clouds = FindObjectOfType<UniStormClouds>();
            var range = seedCloudCoverage && m_Clouds != null && m_Clouds.skyMaterial != null
                ? cloudCoverage.Find(r => r != null && r.level == type.CloudLevel) : null;
            m_Coverage = range != null ? SkySeeds.Between(seed, SkySeeds.CoverageSalt, range.min, range.max) : float.NaN;
            m_MoonPhase = seedMoonPhase && system.MoonPhaseList != null
                ? SkySeeds.Index(seed, SkySeeds.MoonSalt, system.MoonPhaseList.Count) : -1;
            Reassert();
            return type.WeatherTypeName;
        }

        public override void Reassert()
        {
            var system = UniStormSystem.Instance;
            if (system == null)
            {
                return;
            }
            var sky = m_Clouds != null ? m_Clouds.skyMaterial : null;
            if (!float.IsNaN(m_Coverage) && sky != null)
            {
                sky.SetFloat(CoverageProperty, m_Coverage);
            }
            if (m_MoonPhase >= 0 && system.MoonPhaseList != null && m_MoonPhase < system.MoonPhaseList.Count &&
                system.MoonPhaseList[m_MoonPhase] != null)
            {
                var phase = system.MoonPhaseList[m_MoonPhase];
                system.MoonPhaseIndex = m_MoonPhase;
                system.MoonPhaseIntensity = phase.MoonPhaseIntensity;
                if (system.m_MoonPhaseMaterial != null)
                {
                    system.m_MoonPhaseMaterial.SetTexture(MoonTextureProperty, phase.MoonPhaseTexture);
                }
            }
        }

        float ShownCoverage()
        {
            var sky = m_Clouds != null ? m_Clouds.skyMaterial : null;
            return sky != null ? sky.GetFloat(CoverageProperty) : float.NaN;
        }

        public override bool InEffect(string weatherType, int hour, int minute)
        {
            var system = UniStormSystem.Instance;
            return system != null && m_Applied != null && system.CurrentWeatherType == m_Applied &&
                   system.CurrentWeatherType.WeatherTypeName == weatherType && system.Hour == hour && system.Minute == minute &&
                   (float.IsNaN(m_Coverage) || Mathf.Abs(ShownCoverage() - m_Coverage) < 1e-4f) &&
                   (m_MoonPhase < 0 || system.MoonPhaseIndex == m_MoonPhase);
        }

        public override void Advance(float seconds)
        {
            var effects = UniStormSystem.Instance != null ? UniStormSystem.Instance.m_EffectsTransform : null;
            if (!advanceWeatherParticles || effects == null || seconds <= 0f)
            {
                return;
            }
            foreach (var particles in effects.GetComponentsInChildren<ParticleSystem>(false))
            {
                // Simulate works on paused systems; from the seed set in Apply, the same particles every time.
                particles.Simulate(seconds, false, false, true);
            }
        }

        public override void Describe(List<NamedValue> values)
        {
            base.Describe(values);
            values.Add(new NamedValue("unistorm_time", UniStormSystem.Instance.m_TimeFloat));
            var coverage = ShownCoverage();
            if (!float.IsNaN(coverage))
            {
                values.Add(new NamedValue("cloud_coverage", coverage));
            }
            values.Add(new NamedValue("moon_phase", UniStormSystem.Instance.MoonPhaseIndex));
        }
    }
}
#endif
