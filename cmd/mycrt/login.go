package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
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
	// Signed in through Cognito: what renews Token once it expires.
	Refresh  string `json:"refresh,omitempty"`
	Domain   string `json:"domain,omitempty"`
	ClientID string `json:"clientId,omitempty"`
}

// tokenFor is the kept token for url, renewed first if it has expired (or is about to) and
// can be; "" if there is none that works.
func (c *cli) tokenFor(ctx context.Context, l login, url string) string {
	t, ok := l.Tokens[url]
	if !ok {
		return ""
	}
	if time.Now().Before(t.Expires.Add(-time.Minute)) {
		return t.Token
	}
	if t.Refresh == "" {
		return ""
	}
	renewed, err := exchange(ctx, c.http, cognitoConfig{Domain: t.Domain, ClientID: t.ClientID},
		neturl.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.Refresh}}, t.Refresh)
	if err != nil {
		fmt.Fprintf(c.stderr, "mycrt: the sign-in could not be renewed (%v): sign in again with mycrt login\n", err)
		return ""
	}
	l.Tokens[url] = renewed
	if err := saveLogin(c.getenv, l); err != nil {
		fmt.Fprintf(c.stderr, "mycrt: keep the renewed token: %v\n", err)
	}
	return renewed.Token
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
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	// A new file of a name nobody chose (O_EXCL, mode 0600), so no link or file planted in the
	// folder is followed or reused; renamed over the login at once, so a reader sees the old
	// login or the new, whole. A link at the login's own name is replaced, not followed.
	f, err := os.CreateTemp(dir, "login-*.json.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func (c *cli) loginCommand() *cobra.Command {
	var user string
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in and keep the token for later commands",
		Long: "Against the console's URL on AWS (the stack's ConsoleUrl), signs in through the Cognito\n" +
			"Hosted UI in your browser (authorization code + PKCE, answered on " + callbackURL + ").\n" +
			"Against `make run`, signs in as --user through its local sign-in route. The tokens are\n" +
			"kept in your config folder (mode 0600) for this URL, and renewed as they expire. The URL\n" +
			"must be https, or plain http to this machine (127.0.0.1, localhost, [::1]).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := discoverCognito(cmd.Context(), c.http, c.url)
			if err != nil {
				return err
			}
			if cfg != nil {
				t, err := cognitoLogin(cmd.Context(), c.http, *cfg, c.stderr, !noBrowser)
				if err != nil {
					return err
				}
				return c.keep(t)
			}
			if user == "" {
				return usagef("--user is required (this server signs in locally)")
			}
			body, _ := json.Marshal(map[string]string{"user": user})
			resp, err := c.http.Post(strings.TrimSuffix(c.url, "/")+"/local/token", "application/json", bytes.NewReader(body))
			if err != nil {
				return c.unreachable(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return &apiError{Code: 404, Message: c.url + " has no local sign-in and no /config.json: give mycrt login the console's URL (the stack's ConsoleUrl)"}
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
			return c.keep(token{User: user, Token: out.Token, Expires: time.Now().Add(time.Duration(out.ExpiresIn) * time.Second)})
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "who to sign in as (make run only)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the sign-in page's address")
	return cmd
}

func (c *cli) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Sign out: revoke the refresh token and forget the kept tokens",
		Long: "Forgets the tokens kept for the URL. Signed in through Cognito, it first revokes the\n" +
			"refresh token (Cognito's /oauth2/revoke), so that no copy of it renews anything; an ID\n" +
			"token already issued works until it expires (the stack's live an hour). If the\n" +
			"revocation fails, the tokens are forgotten all the same and it exits 1.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadLogin(c.getenv)
			t, ok := l.Tokens[c.url]
			if err != nil || !ok {
				fmt.Fprintf(c.stdout, "Not signed in to %s\n", c.url)
				return nil
			}
			var revoked error
			if t.Refresh != "" {
				revoked = revoke(cmd.Context(), c.http, cognitoConfig{Domain: t.Domain, ClientID: t.ClientID}, t.Refresh)
			}
			delete(l.Tokens, c.url)
			if err := saveLogin(c.getenv, l); err != nil {
				return fmt.Errorf("forget the tokens: %w", err)
			}
			if revoked != nil {
				return fmt.Errorf("signed out of %s here, but the refresh token was not revoked (%w): it works until it expires", c.url, revoked)
			}
			fmt.Fprintf(c.stdout, "Signed out of %s\n", c.url)
			return nil
		},
	}
}

// keep saves t as the login for c's URL.
func (c *cli) keep(t token) error {
	l, _ := loadLogin(c.getenv)
	if l.Tokens == nil {
		l.Tokens = map[string]token{}
	}
	l.URL = c.url
	l.Tokens[c.url] = t
	if err := saveLogin(c.getenv, l); err != nil {
		return fmt.Errorf("keep the token: %w", err)
	}
	fmt.Fprintf(c.stdout, "Signed in to %s as %s\n", c.url, t.User)
	return nil
}
