// Stub of the com.unity.ml-agents 2.0.x surface the rdh package uses (signatures from the public
// Runtime sources); see README.md.
using System;
using UnityEngine;

namespace Unity.MLAgents
{
    public class Academy : IDisposable
    {
        public static bool IsInitialized { get { return false; } }
        public static Academy Instance { get { return null; } }
        public bool AutomaticSteppingEnabled { get; set; }
        public event Action<int> AgentPreStep;
        public void EnvironmentStep() { if (AgentPreStep != null) { AgentPreStep(0); } }
        public void Dispose() { }
    }

    public partial class Agent : MonoBehaviour
    {
        public virtual void Initialize() { }
        protected virtual void OnEnable() { }
        protected virtual void OnDisable() { }
        public void RequestDecision() { }
        public virtual void CollectObservations(Unity.MLAgents.Sensors.VectorSensor sensor) { }
        public virtual void OnActionReceived(Unity.MLAgents.Actuators.ActionBuffers actions) { }
    }
}

namespace Unity.MLAgents.Actuators
{
    public struct ActionBuffers { }  // readonly in ML-Agents; mcs stops at C# 7.0

    public struct ActionSpec
    {
        public static ActionSpec MakeContinuous(int numActions) { return default(ActionSpec); }
    }
}

namespace Unity.MLAgents.Policies
{
    [Serializable]
    public class BrainParameters
    {
        public int VectorObservationSize = 1;
        public Unity.MLAgents.Actuators.ActionSpec ActionSpec { get; set; }
    }

    public class BehaviorParameters : MonoBehaviour
    {
        public BrainParameters BrainParameters { get; internal set; }
        public string BehaviorName { get; set; }
    }
}

namespace Unity.MLAgents.Sensors
{
    public class VectorSensor
    {
        public void AddObservation(float observation) { }
        public void AddObservation(int observation) { }
    }
}

namespace Unity.MLAgents.SideChannels
{
    public class IncomingMessage : IDisposable
    {
        public byte[] GetRawBytes() { return new byte[0]; }
        public void Dispose() { }
    }

    public class OutgoingMessage : IDisposable
    {
        public void SetRawBytes(byte[] data) { }
        public void Dispose() { }
    }

    public abstract class SideChannel
    {
        public Guid ChannelId { get; protected set; }
        protected abstract void OnMessageReceived(IncomingMessage msg);
        protected void QueueMessageToSend(OutgoingMessage msg) { }
    }

    public static class SideChannelManager
    {
        public static void RegisterSideChannel(SideChannel sideChannel) { }
        public static void UnregisterSideChannel(SideChannel sideChannel) { }
    }
}
