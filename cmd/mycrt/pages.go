package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mycrt/captures/pkg/client"
)

// nextCursor is the cursor of an RFC 8288 Link header's rel="next" target, "" when there is
// none (the last page).
func nextCursor(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			next := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.Contains(" "+strings.Trim(v, `"`)+" ", " next ") {
					next = true
				}
			}
			if u, err := url.Parse(target[1 : len(target)-1]); next && err == nil {
				return u.Query().Get("cursor")
			}
		}
	}
	return ""
}

// pageSize is what to ask of each page for want items in all: nil (the API's default page)
// for all there are.
func pageSize(want int) *int {
	if want <= 0 {
		return nil
	}
	n := min(want, 1000)
	return &n
}

// eachCapture calls keep on the captures p lists, page after page, until keep says it has
// enough or there are no more.
func (c *cli) eachCapture(ctx context.Context, p client.ListCapturesParams, keep func(client.Capture) (enough bool)) error {
	for {
		r, err := c.api.ListCapturesWithResponse(ctx, &p)
		if err != nil {
			return c.unreachable(err)
		}
		if r.StatusCode() >= 400 {
			_, err := c.answer(nil, r)
			return err
		}
		for _, cp := range *r.JSON200 {
			if keep(cp) {
				return nil
			}
		}
		next := nextCursor(r.HTTPResponse.Header)
		if next == "" {
			return nil
		}
		p.Cursor = &next
	}
}

// environments returns every environment of the caller, page after page.
func (c *cli) environments(ctx context.Context) ([]client.Environment, error) {
	all := []client.Environment{}
	p := client.ListEnvironmentsParams{} // the API's page size: a user has a few dozen at most
	for {
		r, err := c.api.ListEnvironmentsWithResponse(ctx, &p)
		if err != nil {
			return nil, c.unreachable(err)
		}
		if r.StatusCode() >= 400 {
			_, err := c.answer(nil, r)
			return nil, err
		}
		all = append(all, *r.JSON200...)
		next := nextCursor(r.HTTPResponse.Header)
		if next == "" {
			return all, nil
		}
		p.Cursor = &next
	}
}

// envID reads --env: an environment's id, or its name (which the API keeps unique per owner,
// so a name shared with another owner's environment you belong to asks for the id).
func (c *cli) envID(ctx context.Context, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	var id int
	if _, err := fmt.Sscan(s, &id); err == nil && id > 0 && fmt.Sprint(id) == s {
		return id, nil
	}
	envs, err := c.environments(ctx)
	if err != nil {
		return 0, err
	}
	var found []client.Environment
	for _, e := range envs {
		if e.EnvName == s {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return 0, usagef("--env %q: no environment of yours has that name (mycrt env list)", s)
	case 1:
		return found[0].Id, nil
	}
	return 0, usagef("--env %q: %d of your environments have that name: give its id (mycrt env list)", s, len(found))
}
