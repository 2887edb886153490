package rest_test

import (
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
)

func TestManagement_Apps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		r := s.Do(t, "POST", "/management/token", "", map[string]any{"grant_type": "password", "username": "owner", "password": servertest.OwnerPassword})
		expect(t, r, 200, "")
		adm := r.Str("access_token")

		r = s.Do(t, "POST", "/management/orgs/acme/applications", adm, map[string]any{"name": "chat"})
		expect(t, r, 200, "")
		data := r.Body["data"].(map[string]any)
		if data["appkey"] != "acme#chat" || data["client_id"] == "" || data["client_secret"] == "" {
			t.Fatalf("create app: %s", r.Raw)
		}
		// The new app works at once.
		r = s.Do(t, "POST", "/acme/chat/token", "", map[string]any{"grant_type": "client_credentials",
			"client_id": data["client_id"], "client_secret": data["client_secret"]})
		expect(t, r, 200, "")
		appTok := r.Str("access_token")

		r = s.Do(t, "GET", "/management/orgs/acme/applications", adm, nil)
		expect(t, r, 200, "")
		if list := r.Body["data"].([]any); len(list) != 1 || list[0].(map[string]any)["client_secret"] != nil {
			t.Fatalf("list apps: %s", r.Raw)
		}

		r = s.Do(t, "POST", "/management/orgs/acme/applications/chat/credentials", adm, nil)
		expect(t, r, 200, "")
		expect(t, s.Do(t, "GET", "/acme/chat/users", appTok, nil), 401, "auth_bad_access_token")

		tests := []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      string
		}{
			{"no admin token", "GET", "/management/orgs/acme/applications", "", nil, 401, "unauthorized"},
			{"app token is not admin", "GET", "/management/orgs/acme/applications", appTok, nil, 401, "auth_bad_access_token"},
			{"forged admin token", "GET", "/management/orgs/acme/applications", "PA.forged", nil, 401, "auth_bad_access_token"},
			{"wrong password", "POST", "/management/token", "", map[string]any{"grant_type": "password", "username": "owner", "password": "x"}, 400, "invalid_grant"},
			{"unknown admin", "POST", "/management/token", "", map[string]any{"grant_type": "password", "username": "eve", "password": "x"}, 400, "invalid_grant"},
			{"bad grant", "POST", "/management/token", "", map[string]any{"grant_type": "client_credentials"}, 400, "illegal_argument"},
			{"duplicate app", "POST", "/management/orgs/acme/applications", adm, map[string]any{"name": "chat"}, 400, "illegal_argument"},
			{"bad app name", "POST", "/management/orgs/acme/applications", adm, map[string]any{"name": "no spaces"}, 400, "illegal_argument"},
			{"reserved org", "POST", "/management/orgs/management/applications", adm, map[string]any{"name": "x"}, 400, "illegal_argument"},
			{"rotate unknown app", "POST", "/management/orgs/acme/applications/nope/credentials", adm, nil, 404, "organization_application_not_found"},
			{"unknown management path", "GET", "/management/nothing", adm, nil, 404, "service_resource_not_found"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				expect(t, s.Do(t, tc.method, tc.path, tc.token, tc.body), tc.status, tc.code)
			})
		}
	})
}
