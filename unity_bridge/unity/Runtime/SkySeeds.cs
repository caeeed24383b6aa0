namespace Rdh.Capture
{
    /// <summary>
    /// Numbers a sky controller draws from the style's seed, for what the sky system would otherwise
    /// draw from the clock (UniStorm's cloud coverage, reseeded from DateTime.Now whenever the weather
    /// changes) or from its own history (the moon phase, which advances every time the clock passes
    /// noon, so with the order of the styles). A hash of the seed, not UnityEngine.Random: the same
    /// seed gives the same numbers whatever ran before, and the tests run it under Mono (the stand-in
    /// player has the same function in unity_bridge/testing/frames.py).
    /// </summary>
    public static class SkySeeds
    {
        public const int CoverageSalt = 1;
        public const int MoonSalt = 2;

        /// <summary>A number in [0, 1) from a seed and a salt (one per quantity drawn).</summary>
        public static double Unit(int seed, int salt)
        {
            unchecked
            {
                // murmur3's 32-bit finalizer over the seed mixed with the salt
                var h = (uint)seed ^ ((uint)salt * 0x9E3779B9u);
                h ^= h >> 16;
                h *= 0x85EBCA6Bu;
                h ^= h >> 13;
                h *= 0xC2B2AE35u;
                h ^= h >> 16;
                return (h >> 8) / (double)(1 << 24);
            }
        }

        /// <summary>A value in [min, max] drawn from the seed (min when max &lt;= min).</summary>
        public static float Between(int seed, int salt, float min, float max)
        {
            if (max <= min)
            {
                return min;
            }
            return (float)(min + (max - min) * Unit(seed, salt));
        }

        /// <summary>An index in 0 .. count - 1 drawn from the seed (-1 when count is 0).</summary>
        public static int Index(int seed, int salt, int count)
        {
            if (count <= 0)
            {
                return -1;
            }
            var i = (int)(Unit(seed, salt) * count);
            return i < count ? i : count - 1;
        }
    }
}
