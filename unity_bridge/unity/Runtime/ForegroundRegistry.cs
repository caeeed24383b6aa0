using System;
using System.Collections.Generic;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>An object rdh may choose as the foreground of a 2D scene.</summary>
    [Serializable]
    public class ForegroundCandidate
    {
        [Tooltip("Name recorded in scene.json; unique in the scene. Empty: the target object's name.")]
        public string name;

        [Tooltip("The object (with its children). Its renderers make the mask.")]
        public GameObject target;

        [Tooltip("Category recorded in scene.json and the manifests: human, bottle, cake, motorcycle, cow, couch, or your own (pass it to rdh --categories).")]
        public string category = "human";

        public string Name => string.IsNullOrEmpty(name) && target != null ? target.name : name;
    }

    /// <summary>
    /// One per scene: the foreground candidates of this scene with their categories.
    /// rdh draws one per 2D scene among those of the categories it was asked for.
    /// </summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("rdh/Foreground Registry")]
    public class ForegroundRegistry : MonoBehaviour
    {
        [Tooltip("Foreground candidates of this scene.")]
        public List<ForegroundCandidate> candidates = new List<ForegroundCandidate>();

        [Tooltip("Show only the chosen candidate while capturing: the others are deactivated, so each image holds one foreground.")]
        public bool showOnlyChosen = true;

        public List<ForegroundCandidate> All()
        {
            return candidates.FindAll(c => c.target != null);
        }

        /// <summary>Find a candidate by name and make it the visible one.</summary>
        public ForegroundCandidate Choose(string foregroundName)
        {
            var chosen = All().Find(c => c.Name == foregroundName);
            if (chosen == null)
            {
                throw new CaptureException($"scene '{gameObject.scene.name}' has no foreground named '{foregroundName}'");
            }
            if (showOnlyChosen)
            {
                foreach (var c in All())
                {
                    c.target.SetActive(c == chosen);
                }
            }
            else
            {
                chosen.target.SetActive(true);
            }
            return chosen;
        }
    }
}
