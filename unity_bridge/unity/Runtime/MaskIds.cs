using System;

namespace Rdh.Capture
{
    /// <summary>
    /// Object ids of the mask pass and the selection of the foreground's pixels. Plain C# (no
    /// UnityEngine), so the tests run it under Mono.
    ///
    /// Every renderer the package controls is drawn in a flat 24-bit id colour (0 is the
    /// background). The scene is drawn twice, with the foreground in <see cref="ForegroundFirst"/>
    /// and then in <see cref="ForegroundSecond"/>; everything else keeps its id, and what the
    /// package does not control (terrain trees and grass, instanced vegetation, renderers kept on
    /// their own materials) keeps its own, unchanging colour. A pixel is foreground exactly when
    /// it shows the first id in the first pass and the second in the second: no colour threshold,
    /// and no colour of another object can pass for the foreground, since it would have to change
    /// between the passes.
    /// </summary>
    public static class MaskIds
    {
        public const int Background = 0;
        public const int ForegroundFirst = 0xFFFFFE;
        public const int ForegroundSecond = 0xFFFFFD;
        public const int MaxOccluderId = 0xFFFFFC;

        /// <summary>The id of the <paramref name="index"/>-th other renderer (0-based): 1, 2, ...</summary>
        public static int OccluderId(int index)
        {
            if (index < 0 || index >= MaxOccluderId)
            {
                throw new CaptureException($"the scene has more than {MaxOccluderId} renderers for the mask pass");
            }
            return index + 1;
        }

        /// <summary>The bytes (r, g, b) an id is drawn as.</summary>
        public static void ToBytes(int id, out byte r, out byte g, out byte b)
        {
            r = (byte)((id >> 16) & 0xFF);
            g = (byte)((id >> 8) & 0xFF);
            b = (byte)(id & 0xFF);
        }

        /// <summary>The id a pixel shows.</summary>
        public static int FromBytes(byte r, byte g, byte b)
        {
            return (r << 16) | (g << 8) | b;
        }

        /// <summary>
        /// Fill <paramref name="mask"/> (3 bytes per pixel, grey 0 or 255) from the two passes
        /// (<paramref name="stride"/> bytes per pixel, r, g, b first) and return the foreground pixel count.
        /// </summary>
        public static int Select(byte[] first, byte[] second, int stride, byte[] mask)
        {
            int disagree;
            return Select(first, second, stride, mask, out disagree);
        }

        /// <summary>
        /// As <see cref="Select(byte[], byte[], int, byte[])"/>, and count in <paramref name="disagree"/> the
        /// pixels where the two passes disagree other than by the foreground's change of id: everything but
        /// the foreground keeps its id (or its own colour) from one pass to the other, so a pixel that changes
        /// shows that something else draws into the id pass (dithering, a renderer feature, an animation).
        /// </summary>
        public static int Select(byte[] first, byte[] second, int stride, byte[] mask, out int disagree)
        {
            if (first.Length != second.Length || stride < 3 || first.Length % stride != 0 ||
                mask.Length != first.Length / stride * 3)
            {
                throw new ArgumentException("mask pass buffers of different sizes");
            }
            var count = 0;
            disagree = 0;
            for (int p = 0, o = 0; p < first.Length; p += stride, o += 3)
            {
                var a = FromBytes(first[p], first[p + 1], first[p + 2]);
                var b = FromBytes(second[p], second[p + 1], second[p + 2]);
                var isForeground = a == ForegroundFirst && b == ForegroundSecond;
                var v = isForeground ? (byte)255 : (byte)0;
                mask[o] = v;
                mask[o + 1] = v;
                mask[o + 2] = v;
                if (isForeground)
                {
                    count++;
                }
                else if (a != b)
                {
                    disagree++;
                }
            }
            return count;
        }
    }
}
