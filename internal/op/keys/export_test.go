package keys

// SetBeforeLock makes m call f before each change that takes the key lock,
// so a test can line replicas up to race for it.
func SetBeforeLock(m *Manager, f func()) { m.beforeLock = f }
