package oauth2d

import (
	stderrors "errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/oauth2d/oauth2/internal/atrest"
)

// keyring returns the keyring that encrypts the private keys the App keeps
// in its store (docs/config.md, secret_file). The secret comes from, in
// order: OAUTH2D_SECRET (Config.Secret, with OAUTH2D_SECRET_OLD), the
// secret_file, or, when neither is set, a store of this process alone: a
// memory store gets a secret that lives as long as its keys, an SQLite
// store one generated into a 0600 file beside the database. A shared store
// needs one (Validate refuses it without), and so does a Config.TokenStore.
// It returns where the secret came from, for messages; never the secret.
func (a *App) keyring() (*atrest.Keyring, string, error) {
	cfg := &a.cfg
	if cfg.Secret != "" {
		k, err := atrest.New(cfg.Secret, cfg.OldSecrets...)
		if err != nil {
			return nil, "", &ConfigError{Field: EnvSecret, Problem: err.Error()}
		}
		return k, EnvSecret, nil
	}
	if cfg.SecretFile != "" {
		current, old, err := readSecretFile(cfg.SecretFile)
		if err != nil {
			return nil, "", &ConfigError{Field: "secret_file", Problem: err.Error()}
		}
		k, err := atrest.New(current, old...)
		if err != nil {
			return nil, "", &ConfigError{Field: "secret_file", Problem: err.Error()}
		}
		return k, "secret_file " + cfg.SecretFile, nil
	}
	if cfg.TokenStore != nil {
		return nil, "", &ConfigError{Field: "Secret", Problem: "a Config.TokenStore needs Config.Secret or Config.SecretFile: the App cannot tell whether other processes share the store"}
	}
	su, err := ParseStoreURL(cfg.Store)
	if err != nil {
		return nil, "", &ConfigError{Field: "store", Problem: err.Error()}
	}
	switch su.Kind {
	case StoreMemory:
		// The keys live and die with this process: so does their key.
		k, err := atrest.New(atrest.GenerateSecret())
		return k, "a secret of this process (memory store)", err
	case StoreSQLite:
		path := secretFileBeside(su.DSN)
		current, old, created, err := loadOrCreateSecretFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("oauth2d: secret file %s: %w", path, err)
		}
		if created {
			a.log.Info("generated the secret that encrypts the signing keys at rest; keep it with the database, and back it up with it",
				"secret_file", path)
		} else {
			a.log.Info("the signing keys are encrypted with the secret beside the database", "secret_file", path)
		}
		k, err := atrest.New(current, old...)
		if err != nil {
			return nil, "", &ConfigError{Field: "secret_file", Problem: path + ": " + err.Error()}
		}
		return k, "secret_file " + path, nil
	}
	return nil, "", &ConfigError{Field: "secret_file", Problem: "required with a shared store: set secret_file or " + EnvSecret}
}

// secretFileBeside returns the secret file of an SQLite database: the
// database's name with the extension .secret, in its directory
// (./oauth2d.db gives ./oauth2d.secret).
func secretFileBeside(dbPath string) string {
	base := filepath.Base(dbPath)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	return filepath.Join(filepath.Dir(dbPath), base+".secret")
}

// maxSecretFile bounds what a secret file may hold.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret file: its first line that is neither empty
// nor a # comment is the current secret, the further ones are former
// secrets, which still decrypt while the secret is changed.
func readSecretFile(path string) (current string, old []string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", nil, fmt.Errorf("cannot read it: %w", stderrors.Unwrap(err))
	}
	if info.Size() > maxSecretFile {
		return "", nil, fmt.Errorf("larger than %d bytes: not a secret file", maxSecretFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("cannot read it: %w", stderrors.Unwrap(err))
	}
	var secrets []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			secrets = append(secrets, line)
		}
	}
	if len(secrets) == 0 {
		return "", nil, stderrors.New("holds no secret")
	}
	return secrets[0], secrets[1:], nil
}

// loadOrCreateSecretFile reads the secret file at path, or creates it,
// readable by its owner only, with a new secret. Of processes that start
// at once, one creates it and the others read it.
func loadOrCreateSecretFile(path string) (current string, old []string, created bool, err error) {
	current, old, err = readSecretFile(path)
	if err == nil {
		return current, old, false, nil
	}
	if _, serr := os.Stat(path); !stderrors.Is(serr, fs.ErrNotExist) {
		return "", nil, false, err
	}
	secret := atrest.GenerateSecret()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if stderrors.Is(err, fs.ErrExist) {
		current, old, err = readSecretFile(path)
		return current, old, false, err
	}
	if err != nil {
		return "", nil, false, err
	}
	text := "# oauth2d: the secret that encrypts the signing keys kept in the database beside this file.\n" +
		"# Keep it with the database; without it the keys cannot be read (docs/config.md, secret_file).\n" + secret + "\n"
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return "", nil, false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", nil, false, err
	}
	if err := f.Close(); err != nil {
		return "", nil, false, err
	}
	return secret, nil, true, nil
}
