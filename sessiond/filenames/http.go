package filenames

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// MaxLimit caps the results of one query.
const MaxLimit = 500

// Response is the answer of GET /api/v1/filenames.
type Response struct {
	Results []Match `json:"results"`
	// Total is how many paths matched; Files how many are indexed.
	Total int `json:"total"`
	Files int `json:"files"`
	// Truncated: the workspace has more files than the index holds.
	Truncated bool `json:"truncated"`
	// BuildMs is how long the index behind this answer took to build.
	BuildMs float64 `json:"buildMs"`
}

// Mount adds GET /filenames?q=QUERY&limit=N (limit 1..500, default 50).
func (s *Service) Mount(api fiber.Router) {
	api.Get("/filenames", s.handleQuery)
}

func (s *Service) handleQuery(c *fiber.Ctx) error {
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return apierr.BadRequest("limit %q: want an integer from 1 to %d", v, MaxLimit)
		}
		limit = n
	}
	q := c.Query("q")
	if len(q) > 1024 {
		return apierr.BadRequest("query is %d bytes; the limit is 1024", len(q))
	}
	x, err := s.Index()
	if err != nil {
		return err
	}
	res, total := x.Query(q, limit)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(Response{Results: res, Total: total, Files: x.Len(), Truncated: x.Truncated, BuildMs: float64(x.Took.Microseconds()) / 1000})
}
