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
    /// Sets UniStorm's weather and time for a capture: waits until UniStorm is initialized, freezes
    /// its clock and its weather generator, changes the weather instantly (looked up by name in All
    /// Weather Types) and sets the time. The agent then lets the sky settle for --settle-frames.
    /// </summary>
    [AddComponentMenu("rdh/UniStorm Sky Controller")]
    public class UniStormSkyController : SkyController
    {
        [Tooltip("rdh weather names whose UniStorm weather type has another name. Names not listed are looked up as they are.")]
        public List<WeatherAlias> aliases = new List<WeatherAlias>();

        public override string ControllerName => "unistorm";

        public override bool Ready =>
            UniStormSystem.Instance != null && UniStormSystem.Instance.UniStormInitialized && UniStormManager.Instance != null;

        public override List<string> WeatherNames
        {
            get
            {
                var names = new List<string>();
                if (UniStormSystem.Instance != null)
                {
                    foreach (var type in UniStormSystem.Instance.AllWeatherTypes)
                    {
                        names.Add(type.WeatherTypeName);
                    }
                }
                return names;
            }
        }

        public override string AppliedTime => $"{UniStormSystem.Instance.Hour:00}:{UniStormSystem.Instance.Minute:00}";

        public override string Apply(string weather, int hour, int minute)
        {
            var system = UniStormSystem.Instance;
            var alias = aliases.Find(a => a.rdhName == weather);
            var typeName = alias != null ? alias.uniStormName : weather;
            var type = system.AllWeatherTypes.Find(t => t != null && t.WeatherTypeName == typeName);
            if (type == null)
            {
                throw new CaptureException($"no weather type named '{typeName}' in UniStorm's All Weather Types (known: {string.Join(", ", WeatherNames)}): add it or an alias on the UniStormSkyController");
            }
            // A capture shows the requested sky: no clock running, no weather picked by UniStorm itself.
            system.TimeFlow = UniStormSystem.EnableFeature.Disabled;
            system.WeatherGeneration = UniStormSystem.EnableFeature.Disabled;
            UniStormManager.Instance.ChangeWeatherInstantly(type);
            UniStormManager.Instance.SetTime(hour, minute);
            // SetTime stores hour/24 + minute/1440 in a float and UniStorm truncates it back to minutes;
            // a tenth of a minute more keeps float rounding from showing the minute before.
            system.m_TimeFloat += 0.1f / 1440f;
            return type.WeatherTypeName;
        }

        public override void Describe(List<NamedValue> values)
        {
            base.Describe(values);
            values.Add(new NamedValue("unistorm_time", UniStormSystem.Instance.m_TimeFloat));
        }
    }
}
#endif
