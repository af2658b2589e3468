package manage

import "github.com/oauth2d/oauth2"

// KVStore returns the mapped token store as an oauth2.KVStore, or nil when
// no token store is mapped or it does not implement the capability. The
// server finds through it, by a type assertion on its Manager, where to keep
// what every server process must share besides tokens: device codes
// (RFC 8628 3.2) and the jti of client assertions (RFC 7523 3).
func (m *Manager) KVStore() oauth2.KVStore {
	kv, _ := m.tokenStore.(oauth2.KVStore)
	return kv
}
