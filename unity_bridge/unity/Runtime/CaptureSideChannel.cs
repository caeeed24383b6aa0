using System;
using System.Collections.Generic;
using System.Text;
using Unity.MLAgents.SideChannels;
using UnityEngine;

namespace Rdh.Capture
{
    /// <summary>
    /// The Unity end of the capture side channel: requests from rdh are queued for the
    /// <see cref="CaptureAgent"/>, its replies go out with the next exchange.
    /// Messages are raw UTF-8 JSON (ML-Agents' own string helpers are ASCII only).
    /// </summary>
    public class CaptureSideChannel : SideChannel
    {
        readonly Queue<CaptureRequest> m_Requests = new Queue<CaptureRequest>();

        public CaptureSideChannel()
        {
            ChannelId = CaptureProtocol.ChannelId;
        }

        /// <summary>Requests received and not yet taken.</summary>
        public int Pending => m_Requests.Count;

        public bool TryTake(out CaptureRequest request)
        {
            return m_Requests.TryDequeue(out request);
        }

        protected override void OnMessageReceived(IncomingMessage msg)
        {
            var json = Encoding.UTF8.GetString(msg.GetRawBytes());
            try
            {
                var request = JsonUtility.FromJson<CaptureRequest>(json);
                if (request != null)
                {
                    m_Requests.Enqueue(request);
                }
            }
            catch (ArgumentException e)
            {
                // Not JSON: nothing to answer (no id); rdh times out and reports it.
                Debug.LogWarning($"[rdh] dropped a capture message that is not JSON: {e.Message}");
            }
        }

        public void Send(CaptureReply reply)
        {
            using (var msg = new OutgoingMessage())
            {
                msg.SetRawBytes(Encoding.UTF8.GetBytes(JsonUtility.ToJson(reply)));
                QueueMessageToSend(msg);
            }
        }
    }
}
