package bitstream

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// Mount adds the bitstream routes to the /api/v1 group.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/bitstreams", s.handleList)
	api.Get("/bitstream", s.handleDownload)
}

func (s *Service) handleList(c *fiber.Ctx) error {
	list, err := s.List()
	if err != nil {
		return err
	}
	if list == nil {
		list = []Bitstream{}
	}
	return c.JSON(fiber.Map{"bitstreams": list})
}

// fileBody streams a byte range of an open file and closes it when fasthttp
// is done with the body.
type fileBody struct {
	io.Reader
	f *os.File
}

func (b fileBody) Close() error { return b.f.Close() }

func (s *Service) handleDownload(c *fiber.Ctx) error {
	f, fi, sum, err := s.Open(c.Query("path"))
	if err != nil {
		return err
	}
	handedOff := false
	defer func() {
		if !handedOff {
			f.Close()
		}
	}()
	size := fi.Size()
	etag := workspace.ETag(sum)
	name := path.Base(fi.Name())
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	c.Set(fiber.HeaderLastModified, fi.ModTime().UTC().Format(http.TimeFormat))

	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatch(inm, etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	start, n, status := int64(0), size, fiber.StatusOK
	if rng := c.Get(fiber.HeaderRange); rng != "" && ifRangeOK(c.Get(fiber.HeaderIfRange), etag) && !strings.Contains(rng, ",") {
		// Several ranges would need multipart/byteranges; a full 200 is an
		// allowed answer to that, and no WebUSB flasher asks for it.
		lo, hi, err := fasthttp.ParseByteRange([]byte(rng), int(size))
		if err != nil {
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", size))
			return apierr.Write(c, apierr.New(fiber.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable",
				"range %q does not fit the %d-byte file", rng, size))
		}
		start, n, status = int64(lo), int64(hi-lo+1), fiber.StatusPartialContent
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", lo, hi, size))
	}
	c.Status(status)
	if c.Method() == fiber.MethodHead {
		c.Response().Header.SetContentLength(int(n))
		c.Response().SkipBody = true
		return nil
	}
	handedOff = true
	if start == 0 && n == size {
		// The bare *os.File lets fasthttp use sendfile(2); it closes the
		// file when done. A file rewritten in place mid-download would not
		// match its ETag whatever we sent; fasthttp drops the connection if
		// the length no longer matches.
		c.Response().SetBodyStream(f, int(n))
		return nil
	}
	c.Response().SetBodyStream(fileBody{Reader: io.NewSectionReader(f, start, n), f: f}, int(n))
	return nil
}

// etagMatch reports whether an If-None-Match list names etag.
func etagMatch(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// ifRangeOK reports whether a Range applies under If-Range: only when it
// is absent or names the current strong ETag (dates are too coarse here).
func ifRangeOK(ifRange, etag string) bool {
	return ifRange == "" || strings.TrimSpace(ifRange) == etag
}
