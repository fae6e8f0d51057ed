package mysqltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// installArgs are mariadb-install-db's options, but the data folder; the ones it does not
// know go to the bootstrap server.
var installArgs = []string{"--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db",
	"--innodb-log-file-size=8M"}

var template struct {
	once sync.Once
	dir  string
	err  error
}

// templateData is a data folder as mariadb-install-db makes it, made once for this machine's
// MariaDB and user (kept under the system's temporary folder, by version) and copied for each
// server: bootstrapping takes seconds, a copy a fraction of one.
func templateData() (string, error) {
	template.once.Do(func() { template.dir, template.err = makeTemplate() })
	return template.dir, template.err
}

func makeTemplate() (string, error) {
	install, err := binary("mariadb-install-db")
	if err != nil {
		return "", err
	}
	server, err := binary("mariadbd")
	if err != nil {
		return "", err
	}
	version, err := exec.Command(server, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("mariadbd --version: %w", err)
	}
	key := sha256.Sum256([]byte(string(version) + currentUser() + strings.Join(installArgs, " ")))
	root := filepath.Join(os.TempDir(), "mycrt-mysqltest")
	dir := filepath.Join(root, hex.EncodeToString(key[:8]))
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		return filepath.Join(dir, "data"), nil // made before, whole: it is renamed in place only once made
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "making-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// Under load (many test servers starting at once) the bootstrap server mariadb-install-db
	// runs has been seen to fail once; a second try in a clean folder succeeds.
	data := filepath.Join(tmp, "data")
	var out bytes.Buffer
	for attempt := 1; ; attempt++ {
		out.Reset()
		cmd := exec.Command(install, append(installArgs, "--datadir="+data, "--user="+currentUser())...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err == nil {
			break
		}
		if attempt == 2 {
			return "", fmt.Errorf("mariadb-install-db: %v\n%s", err, out.String())
		}
		os.RemoveAll(data)
		time.Sleep(500 * time.Millisecond)
	}
	// Another process may have made it meanwhile: then its copy is the one.
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "data")); serr != nil {
			return "", fmt.Errorf("keep the template data folder: %w", err)
		}
	}
	return filepath.Join(dir, "data"), nil
}

// copyData copies the template data folder to dst, which must not exist.
func copyData(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Mkdir(target, info.Mode().Perm())
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
