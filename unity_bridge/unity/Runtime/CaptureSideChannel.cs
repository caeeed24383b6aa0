using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;
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
        static readonly Regex IdPattern = new Regex("\"id\"\\s*:\\s*(-?\\d+)");
        static readonly Regex OpPattern = new Regex("\"op\"\\s*:\\s*\"([a-z_]*)\"");
        readonly Queue<CaptureRequest> m_Requests = new Queue<CaptureRequest>();

        public CaptureSideChannel()
        {
            ChannelId = CaptureProtocol.ChannelId;
        }

        /// <summary>Requests received and not yet taken.</summary>
        public int Pending => m_Requests.Count;

        public bool TryTake(out CaptureRequest request)
        {
            // Queue.TryDequeue is missing from .NET Framework 4.x, which 2021.3 projects may target.
            if (m_Requests.Count == 0)
            {
                request = null;
                return false;
            }
            request = m_Requests.Dequeue();
            return true;
        }

        protected override void OnMessageReceived(IncomingMessage msg)
        {
            string json = "";
            try
            {
                json = Encoding.UTF8.GetString(msg.GetRawBytes());
                var request = JsonUtility.FromJson<CaptureRequest>(json);
                if (request == null)
                {
                    throw new ArgumentException("not a JSON object");
                }
                m_Requests.Enqueue(request);
            }
            catch (Exception e)
            {
                // Still answered: with the id and op read from the text (when it has them) and the reason.
                var request = new CaptureRequest { v = CaptureProtocol.Version, id = -1, op = "" };
                var id = IdPattern.Match(json);
                var op = OpPattern.Match(json);
                int parsed;
                if (id.Success && int.TryParse(id.Groups[1].Value, out parsed))
                {
                    request.id = parsed;
                }
                if (op.Success)
                {
                    request.op = op.Groups[1].Value;
                }
                request.parseError = $"the player could not read request: {e.GetType().Name}: {e.Message}";
                Debug.LogWarning($"[rdh] {request.parseError}");
                m_Requests.Enqueue(request);
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
