using System;
using System.Collections.Generic;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>A camera pose rdh may capture from.</summary>
    [Serializable]
    public class Viewpoint
    {
        [Tooltip("Name recorded in scene.json; unique in the scene. Empty: the pose object's name.")]
        public string name;

        [Tooltip("The capture camera takes this transform's position and rotation.")]
        public Transform pose;

        [Tooltip("Vertical field of view in degrees; 0 keeps the capture camera's own.")]
        public float fieldOfView;

        public string Name => string.IsNullOrEmpty(name) && pose != null ? pose.name : name;
    }

    /// <summary>
    /// One per scene: the viewpoints of this scene. rdh draws one per 2D scene.
    /// Fill the list in the Inspector, or leave it empty and add child objects: each child is a viewpoint.
    /// </summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("rdh/Viewpoint Registry")]
    public class ViewpointRegistry : MonoBehaviour
    {
        [Tooltip("Viewpoints of this scene. Empty: every direct child of this object, named after it.")]
        public List<Viewpoint> viewpoints = new List<Viewpoint>();

        public List<Viewpoint> All()
        {
            if (viewpoints.Count > 0)
            {
                return viewpoints.FindAll(v => v.pose != null);
            }
            var children = new List<Viewpoint>();
            foreach (Transform child in transform)
            {
                children.Add(new Viewpoint { name = child.name, pose = child });
            }
            return children;
        }

        public Viewpoint Find(string viewpointName)
        {
            var found = All().Find(v => v.Name == viewpointName);
            if (found == null)
            {
                throw new CaptureException($"scene '{gameObject.scene.name}' has no viewpoint named '{viewpointName}'");
            }
            return found;
        }
    }
}
