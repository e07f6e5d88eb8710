//! Series to volume (see the issue "CBCT volumes"): being written.
