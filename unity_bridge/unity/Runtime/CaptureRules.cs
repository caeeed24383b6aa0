using System;
using System.IO;

namespace Rdh.Capture
{
    /// <summary>A request rdh cannot have answered as asked (unknown name, bad size...); its message goes back to rdh.</summary>
    public class CaptureException : Exception
    {
        public CaptureException(string message) : base(message) { }
    }

    /// <summary>
    /// The checks every request's arguments pass before the player acts on them. Plain C# (no
    /// UnityEngine), so the tests run them under Mono; the stand-in player applies the same rules.
    /// </summary>
    public static class CaptureRules
    {
        public const int MaxSize = 8192;

        /// <summary>The capture folder, which must be an absolute path; CaptureException otherwise.</summary>
        public static string Folder(string folder)
        {
            if (string.IsNullOrEmpty(folder) || !Path.IsPathRooted(folder) || folder.IndexOf('\0') >= 0)
            {
                throw new CaptureException($"capture folder '{folder}' is not an absolute path");
            }
            return folder;
        }

        /// <summary>A file name without any folder part (no '/', no '\', not '.' or '..'); CaptureException otherwise.</summary>
        public static string PlainFileName(string name)
        {
            // Both separators: a name that is plain on Linux may still be a path on Windows.
            if (string.IsNullOrEmpty(name) || name == "." || name == ".." || name.IndexOf('/') >= 0 ||
                name.IndexOf('\\') >= 0 || name.IndexOf('\0') >= 0 || name.IndexOf(':') >= 0)
            {
                throw new CaptureException($"file name '{name}' must be a plain file name, without a folder");
            }
            return name;
        }

        /// <summary>A capture size in 1..MaxSize; CaptureException otherwise.</summary>
        public static void Size(int width, int height)
        {
            if (width < 1 || height < 1 || width > MaxSize || height > MaxSize)
            {
                throw new CaptureException($"capture size {width}x{height} is out of 1..{MaxSize}");
            }
        }

        /// <summary>Parse HH:MM; CaptureException otherwise.</summary>
        public static void ParseTime(string text, out int hour, out int minute)
        {
            var parts = (text ?? "").Split(':');
            if (parts.Length != 2 || parts[0].Length != 2 || parts[1].Length != 2 ||
                !int.TryParse(parts[0], out hour) || !int.TryParse(parts[1], out minute) ||
                hour < 0 || hour > 23 || minute < 0 || minute > 59)
            {
                throw new CaptureException($"time '{text}' is not HH:MM");
            }
        }

        /// <summary>Settling asked by rdh: frames and seconds must not be negative.</summary>
        public static void Settle(int frames, float seconds)
        {
            if (frames < 0 || seconds < 0f || float.IsNaN(seconds) || float.IsInfinity(seconds))
            {
                throw new CaptureException($"settle_frames {frames} / settle_seconds {seconds} must be 0 or more");
            }
        }
    }
}
