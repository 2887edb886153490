package parley

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// fetchToken gets a user token with the password grant:
// POST {base}/{org}/{app}/token.
func fetchToken(ctx context.Context, hc *http.Client, base, org, app, username, password string) (string, error) {
	body, err := json.Marshal(map[string]string{
		"grant_type": "password", "username": username, "password": password})
	if err != nil {
		return "", err
	}
	u := httpBase(base) + "/" + url.PathEscape(org) + "/" + url.PathEscape(app) + "/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("parley: token request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", responseError(resp, "token request")
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("parley: token request: %w", err)
	}
	var ok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || ok.AccessToken == "" {
		return "", fmt.Errorf("parley: token response has no access_token")
	}
	return ok.AccessToken, nil
}
