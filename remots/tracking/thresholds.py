"""Thresholds found from the data (paper, sections 2.3 and 2.5), and their histogram plots.

theta_short (Eq. 2, Fig. 4) is estimated from the intra-frame cosine-similarity distribution;
theta_merge (Fig. 5) separates the intra-frame and intra-tracklet similarity histograms.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- theta_short
# (section 2.3, owned by the short-term tracker)


# ----------------------------------------------------------------------------- theta_merge
# (section 2.5, owned by the long-term merge)
