// Compiled only when UniStorm is in the project: the Runtime assembly definition defines RDH_UNISTORM
// through a version define (UniStorm as a package named com.blackhorizonstudios.unistorm), or you add
// RDH_UNISTORM to Player Settings > Scripting Define Symbols. Either way UniStorm needs an assembly
// definition named "UniStorm" (docs/unity.md, "UniStorm").
#if RDH_UNISTORM
using System;
using System.Collections.Generic;
using UniStorm;
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

    /// <summary>
    /// Sets UniStorm's weather and time for a capture (written against UniStorm 5.x): waits until
    /// UniStorm is initialized, switches its clock and weather generator off, sets Daily
    /// generation (Hourly re-rolls the weather from the forecast whenever the hour is set), sets the
    /// time first and then the weather instantly (looked up by name in All Weather Types), and
    /// seeds UnityEngine.Random, which UniStorm seeds from the clock, so a scene renders the same
    /// twice. The agent then waits the settle frames and seconds and until <see cref="InEffect"/>.
    /// </summary>
    [AddComponentMenu("rdh/UniStorm Sky Controller")]
    public class UniStormSkyController : SkyController
    {
        [Tooltip("rdh weather names whose UniStorm weather type has another name. Names not listed are looked up as they are.")]
        public List<WeatherAlias> aliases = new List<WeatherAlias>();

        [Tooltip("Advance UniStorm's weather particles (rain, snow) by the settle seconds while the world is paused, so they show as if they had been falling.")]
        public bool advanceWeatherParticles = true;

        WeatherType m_Applied;

        public override string ControllerName => "unistorm";

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
            return type.WeatherTypeName;
        }

        public override bool InEffect(string weatherType, int hour, int minute)
        {
            var system = UniStormSystem.Instance;
            return system != null && m_Applied != null && system.CurrentWeatherType == m_Applied &&
                   system.CurrentWeatherType.WeatherTypeName == weatherType && system.Hour == hour && system.Minute == minute;
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
        }
    }
}
#endif
