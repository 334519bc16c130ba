package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bootd/internal/api/auth"
)

// tokenYAML is a configuration with an api section; STORE and API are
// replaced.
const tokenYAML = `
interfaces: [eth0]
lease-store: {path: STORE}
subnets:
  - subnet: 198.18.0.0/24
    pools:
      - range: 198.18.0.100-198.18.0.110
API`

func tokenConfig(t *testing.T, api string) (file, store string) {
	t.Helper()
	store = t.TempDir()
	return writeConfig(t, strings.NewReplacer("STORE", store, "API", api).Replace(tokenYAML)), store
}

var tokenRE = regexp.MustCompile(`^bootd_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$`)

func TestTokenCreateListRevoke(t *testing.T) {
	t.Parallel()
	file, store := tokenConfig(t, "api: {listen: 127.0.0.1:8067}\n")
	tokens := filepath.Join(store, "api-tokens.json")

	code, stdout, stderr := runCLI(t, nil, "token", "create", "--config", file, "--name", "ops", "--role", "admin")
	if code != exitOK || !tokenRE.MatchString(stdout) {
		t.Fatalf("create: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "shown only this once") || strings.Contains(stderr, strings.TrimSpace(stdout)) {
		t.Errorf("create: stderr %q", stderr)
	}
	admin := strings.TrimSpace(stdout)

	// Flags before the subcommand, and --tokens naming the file.
	code, stdout, stderr = runCLI(t, nil, "token", "--tokens", tokens, "create", "--name", "grafana", "--role", "read-only")
	if code != exitOK || !tokenRE.MatchString(stdout) {
		t.Fatalf("create --tokens: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	reader := strings.TrimSpace(stdout)

	tk := auth.OpenTokens(tokens)
	if id, ok := tk.Verify(admin); !ok || id.Name != "ops" || id.Role != auth.Admin {
		t.Errorf("Verify(ops) = %+v, %v", id, ok)
	}
	if id, ok := tk.Verify(reader); !ok || id.Name != "grafana" || id.Role != auth.ReadOnly {
		t.Errorf("Verify(grafana) = %+v, %v", id, ok)
	}
	data, err := os.ReadFile(tokens)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), admin[23:]) {
		t.Error("the token file holds a secret")
	}

	code, stdout, stderr = runCLI(t, nil, "token", "list", "--config", file)
	if code != exitOK || stderr != "" {
		t.Fatalf("list: exit %d, stderr:\n%s", code, stderr)
	}
	listRE := regexp.MustCompile(`^NAME +ROLE +ID +CREATED\n` +
		`grafana +read-only +` + reader[6:22] + ` +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n` +
		`ops +admin +` + admin[6:22] + ` +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$`)
	if !listRE.MatchString(stdout) {
		t.Errorf("list:\n%s", stdout)
	}

	code, _, stderr = runCLI(t, nil, "token", "revoke", "--config", file, "--name", "ops")
	if code != exitOK {
		t.Fatalf("revoke: exit %d, stderr:\n%s", code, stderr)
	}
	if _, ok := tk.Verify(admin); ok {
		t.Error("a revoked token verifies")
	}
	// The name as an argument, as docs/api.md writes it.
	code, _, stderr = runCLI(t, nil, "token", "revoke", "grafana", "--tokens", tokens)
	if code != exitOK {
		t.Fatalf("revoke NAME: exit %d, stderr:\n%s", code, stderr)
	}
	if _, ok := tk.Verify(reader); ok {
		t.Error("a revoked token verifies")
	}
	code, stdout, _ = runCLI(t, nil, "token", "list", "--tokens", tokens)
	if code != exitOK || stdout != "" {
		t.Errorf("list after revoking all: exit %d, stdout %q", code, stdout)
	}

	code, _, stderr = runCLI(t, nil, "token", "revoke", "--config", file, "--name", "ops")
	if code != exitError || !strings.Contains(stderr, `token "ops": no such token`) {
		t.Errorf("revoke of an unknown name: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestTokenConfiguredFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "sub", "tokens.json")
	file, _ := tokenConfig(t, "api:\n  tokens: "+tokens+"\n")
	code, stdout, stderr := runCLI(t, nil, "token", "create", "--config", file, "--name", "a", "--role", "read-only")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, ok := auth.OpenTokens(tokens).Verify(strings.TrimSpace(stdout)); !ok {
		t.Errorf("the token is not in the configured file %s", tokens)
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	noAPI, _ := tokenConfig(t, "")
	file, _ := tokenConfig(t, "api: {}\n")
	tokens := filepath.Join(t.TempDir(), "t.json")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no api section", []string{"token", "list", "--config", noAPI}, exitError, noAPI + " has no api section; add one or pass --tokens"},
		{"no subcommand", []string{"token"}, exitUsage, "want a subcommand"},
		{"unknown subcommand", []string{"token", "rotate", "--tokens", tokens}, exitUsage, `unknown subcommand "rotate"`},
		{"no file", []string{"token", "list"}, exitUsage, "--config or --tokens is required"},
		{"both files", []string{"token", "list", "--config", file, "--tokens", tokens}, exitUsage, "not both"},
		{"create without role", []string{"token", "create", "--tokens", tokens, "--name", "a"}, exitUsage, "create needs --name and --role"},
		{"bad role", []string{"token", "create", "--tokens", tokens, "--name", "a", "--role", "root"}, exitUsage, `unknown role "root": want read-only or admin`},
		{"bad name", []string{"token", "create", "--tokens", tokens, "--name", "a b", "--role", "admin"}, exitError, `token name "a b"`},
		{"revoke without name", []string{"token", "revoke", "--tokens", tokens}, exitUsage, "revoke needs --name"},
		{"extra argument", []string{"token", "list", "--tokens", tokens, "x"}, exitUsage, `unexpected argument "x"`},
		{"unknown flag", []string{"token", "list", "--tokenz", tokens}, exitUsage, "flag provided but not defined"},
		{"bad config", []string{"token", "list", "--config", filepath.Join(t.TempDir(), "none.yaml")}, exitError, "configuration refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr (want %q):\n%s", code, tt.code, stdout, tt.want, stderr)
			}
		})
	}
	if _, err := os.Stat(tokens); !os.IsNotExist(err) {
		t.Errorf("failed commands made the token file: %v", err)
	}
	code, _, _ := runCLI(t, nil, "token", "create", "--tokens", tokens, "--name", "a", "--role", "admin")
	if code != exitOK {
		t.Fatal("create failed")
	}
	code, stdout, stderr := runCLI(t, nil, "token", "create", "--tokens", tokens, "--name", "a", "--role", "admin")
	if code != exitError || stdout != "" || !strings.Contains(stderr, `a token named "a" exists already`) {
		t.Errorf("duplicate name: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

func TestTokenHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help", "token"}, {"token", "create", "-h"}} {
		code, stdout, _ := runCLI(t, nil, args...)
		if code != exitOK || !strings.Contains(stdout, "usage: bootd token create|list|revoke") || !strings.Contains(stdout, "--tokens FILE") {
			t.Errorf("%q: exit %d, stdout:\n%s", args, code, stdout)
		}
	}
}
