"""Control frontends: OSC (with OSCQuery), MIDI and zeroconf, all driving one RigController."""
