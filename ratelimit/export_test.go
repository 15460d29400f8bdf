package ratelimit

// MemoryLen lets the external tests count a MemoryStore's keys.
var MemoryLen = (*MemoryStore).len
