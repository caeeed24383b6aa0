using System.Collections.Generic;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>
    /// Sets weather and time of day for a capture. Two come with the package:
    /// <see cref="DirectionalLightSkyController"/> (any project) and UniStormSkyController
    /// (compiled when UniStorm is present, see docs/unity.md). Put one on the bootstrap scene's
    /// rdh object (it survives scene loads with it) or in each content scene; the
    /// <see cref="CaptureAgent"/> finds it. It may not be <see cref="Ready"/> before a content scene
    /// is loaded (UniStorm lives in the content scenes): hello reports it pending, load_scene waits.
    /// </summary>
    public abstract class SkyController : MonoBehaviour
    {
        /// <summary>Name reported to rdh (scene.json source.player.controller).</summary>
        public abstract string ControllerName { get; }

        /// <summary>The weather names this controller accepts (rdh names or aliases).</summary>
        public abstract List<string> WeatherNames { get; }

        /// <summary>False while the sky system is not there or still starting; load_scene and set_style wait for it.</summary>
        public virtual bool Ready => true;

        /// <summary>The camera the sky system renders for (UniStorm's Player Camera), or null: the agent
        /// captures with it when the scene marks no Capture Camera.</summary>
        public virtual Camera SkyCamera => null;

        /// <summary>Apply a weather (by rdh name) and a time of day, at once and frozen (no clock, no
        /// weather changes of its own), and seed UnityEngine.Random with <paramref name="seed"/> where the
        /// sky draws from it. Returns the controller's own name of the weather applied.
        /// Throws <see cref="CaptureException"/> for an unknown weather.</summary>
        public abstract string Apply(string weather, int hour, int minute, int seed);

        /// <summary>Whether the sky shows the weather type (as returned by Apply) and the time now; the
        /// agent waits for it after the settle frames and seconds.</summary>
        public virtual bool InEffect(string weatherType, int hour, int minute)
        {
            return AppliedTime == $"{hour:00}:{minute:00}";
        }

        /// <summary>Advance what the sky simulates itself (its weather particles) by
        /// <paramref name="seconds"/>, although the world is paused. Nothing by default.</summary>
        public virtual void Advance(float seconds) { }

        /// <summary>Set again, from the seed given to Apply, what the sky system draws by itself after
        /// Apply (UniStorm: the cloud coverage it re-draws from the clock, the moon phase it advances at
        /// noon). Called every frame while the agent waits for the style, and before each capture.
        /// Nothing by default.</summary>
        public virtual void Reassert() { }

        /// <summary>The time of day the sky shows now, HH:MM (read back after the settle frames).</summary>
        public abstract string AppliedTime { get; }

        /// <summary>The lighting values recorded with each image (sun elevation and intensity, ambient).</summary>
        public virtual void Describe(List<NamedValue> values)
        {
            var sun = FindSun();
            if (sun != null)
            {
                // Elevation: angle of the direction towards the sun above the horizon.
                var elevation = 90f - Vector3.Angle(-sun.transform.forward, Vector3.up);
                values.Add(new NamedValue("sun_elevation", elevation));
                values.Add(new NamedValue("sun_azimuth", sun.transform.eulerAngles.y));
                values.Add(new NamedValue("sun_intensity", sun.enabled ? sun.intensity : 0f));
                values.Add(new NamedValue("sun_r", sun.color.r));
                values.Add(new NamedValue("sun_g", sun.color.g));
                values.Add(new NamedValue("sun_b", sun.color.b));
            }
            values.Add(new NamedValue("ambient_intensity", RenderSettings.ambientIntensity));
            values.Add(new NamedValue("fog_density", RenderSettings.fog ? RenderSettings.fogDensity : 0f));
        }

        /// <summary>RenderSettings.sun, or the brightest active directional light.</summary>
        public static Light FindSun()
        {
            if (RenderSettings.sun != null)
            {
                return RenderSettings.sun;
            }
            Light best = null;
            foreach (var light in FindObjectsOfType<Light>())
            {
                if (light.type == LightType.Directional && light.isActiveAndEnabled &&
                    (best == null || light.intensity > best.intensity))
                {
                    best = light;
                }
            }
            return best;
        }
    }
}
