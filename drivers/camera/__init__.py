"""Camera code scanner: V4L2 or Y4M frames, codes read by devices.imagecodes."""
