package console

// Callback deliveries: the failed ones, and retrying them (docs/callbacks.md).
func (h *Handler) callbackRoutes() {
	if h.Callbacks == nil {
		return
	}
	h.handle("GET "+appPath+"/callbacks/failed", appRead, "", h.failedCallbacks)
	h.handle("POST "+appPath+"/callbacks/retry", appChange, "callback.retry", h.retryCallbacks)
}

// GET /apps/{org}/{app}/callbacks/failed?limit&cursor: failed deliveries
// by event ID (id, rule, event, attempts, last_error, created, body).
func (h *Handler) failedCallbacks(c *call) (any, error) {
	limit, err := c.limit(100)
	if err != nil {
		return nil, err
	}
	list, next, err := h.Callbacks.FailedDeliveries(c.ctx(), c.p, c.query("cursor"), limit)
	if err != nil {
		return nil, err
	}
	return page{Items: list, Cursor: next}, nil
}

// POST /apps/{org}/{app}/callbacks/retry {id?}: one event's failed
// deliveries, or all of the app's when id is absent.
func (h *Handler) retryCallbacks(c *call) (any, error) {
	var b struct {
		ID string `json:"id"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	n, err := h.Callbacks.RetryFailed(c.ctx(), c.p, b.ID)
	if err != nil {
		return nil, err
	}
	c.target = b.ID
	if c.target == "" {
		c.target = "all"
	}
	c.detail = map[string]any{"requeued": n}
	return map[string]any{"requeued": n}, nil
}
