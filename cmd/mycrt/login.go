package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// login is what `mycrt login` keeps, in the user's config folder with mode 0600.
type login struct {
	URL    string           `json:"url"`
	Tokens map[string]token `json:"tokens"` // by API URL
}

type token struct {
	User    string    `json:"user"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

func (l login) tokenFor(url string) string {
	t, ok := l.Tokens[url]
	if !ok || time.Now().After(t.Expires) {
		return ""
	}
	return t.Token
}

func loginPath(getenv func(string) string) (string, error) {
	dir := getenv("MYCRT_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(base, "mycrt")
	}
	return filepath.Join(dir, "login.json"), nil
}

func loadLogin(getenv func(string) string) (login, error) {
	var l login
	path, err := loginPath(getenv)
	if err != nil {
		return l, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return l, err
	}
	return l, json.Unmarshal(b, &l)
}

func saveLogin(getenv func(string) string, l login) error {
	path, err := loginPath(getenv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (c *cli) loginCommand() *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in and keep the token for later commands",
		Long: "Against `make run`, signs in as --user through its local sign-in route. The token is kept\n" +
			"in your config folder (mode 0600) for this URL until it expires.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return usagef("--user is required")
			}
			body, _ := json.Marshal(map[string]string{"user": user})
			resp, err := http.Post(strings.TrimSuffix(c.url, "/")+"/local/token", "application/json", bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("reach %s: %w", c.url, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return &apiError{Code: 404, Message: c.url + " has no local sign-in: on AWS, sign in with Cognito and set MYCRT_TOKEN to your ID token"}
			}
			var out struct {
				Token     string `json:"token"`
				ExpiresIn int    `json:"expiresIn"`
				apiError
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
				if out.Message == "" {
					out.Message = "sign-in answered " + resp.Status
				}
				return &apiError{Code: resp.StatusCode, Message: out.Message}
			}
			l, _ := loadLogin(c.getenv)
			if l.Tokens == nil {
				l.Tokens = map[string]token{}
			}
			l.URL = c.url
			l.Tokens[c.url] = token{User: user, Token: out.Token, Expires: time.Now().Add(time.Duration(out.ExpiresIn) * time.Second)}
			if err := saveLogin(c.getenv, l); err != nil {
				return fmt.Errorf("keep the token: %w", err)
			}
			fmt.Fprintf(c.stdout, "Signed in to %s as %s\n", c.url, user)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "who to sign in as (make run only)")
	return cmd
}
