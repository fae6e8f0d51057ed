package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
)

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	env, _, err := s.access(r, who)
	if err != nil {
		return err
	}
	members, err := s.Store.Members(r.Context(), env.ID)
	if err != nil {
		return err
	}
	out := make([]memberJSON, len(members))
	for i, m := range members {
		out[i] = memberView(m)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	var body addMemberBody
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	env, m, err := s.access(r, who)
	if err != nil {
		return err
	}
	if !m.IsAdmin {
		return capture.ErrNotAdmin
	}
	added := capture.Member{EnvID: env.ID, UserID: str(body.User), IsAdmin: body.IsAdmin != nil && *body.IsAdmin}
	if err := added.Validate(); err != nil {
		return err
	}
	if added.UserID, added.Name, err = s.findUser(r.Context(), added.UserID); err != nil {
		return err
	}
	if err := s.Store.AddMember(r.Context(), added, s.Now()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, memberView(added))
	return nil
}

// findUser is the id and user name of the user who names: by user name, email or id where
// there is a directory of users (Users), as given otherwise.
func (s *Server) findUser(ctx context.Context, who string) (id, name string, err error) {
	if s.Users == nil {
		return who, "", nil
	}
	return s.Users.Find(ctx, who)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
	env, caller, err := s.access(r, who)
	if err != nil {
		return err
	}
	// The path names the member by id, or as people call them (the caller, by their own
	// name too).
	target := caller
	if user := r.PathValue("user"); user != who.ID && user != who.Name {
		if !caller.IsAdmin {
			return capture.ErrNotAdmin
		}
		id, _, err := s.findUser(r.Context(), user)
		if errors.Is(err, capture.ErrNoSuchUser) {
			return capture.ErrNoMember
		} else if err != nil {
			return err
		}
		if id == who.ID {
			target = caller
		} else if target, err = s.Store.Member(r.Context(), env.ID, id); errors.Is(err, capture.ErrNotMember) {
			return capture.ErrNoMember
		} else if err != nil {
			return err
		}
	}
	if err := s.Store.RemoveMember(r.Context(), target); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, memberView(target))
	return nil
}
