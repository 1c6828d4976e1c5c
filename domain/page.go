package domain

// Lists page by cursor: a use case checks the size asked for (PageSize),
// reads one item more than the page, and cuts it (CutPage); the extra item
// only tells that another page follows.

// PageSize is the size of a page asked for as limit: def when 0, and
// invalid_page_size (on the field limit) outside 1..max.
func PageSize(limit, def, max int) (int, error) {
	if limit == 0 {
		return def, nil
	}
	if limit < 1 || limit > max {
		return 0, Errorf(KindInvalid, "invalid_page_size", "page size must be between 1 and %d", max).WithField("limit")
	}
	return limit, nil
}

// CutPage trims items, read with one more than size, to size, and returns
// the key of the last item kept when another follows (the zero key on the
// last page).
func CutPage[T any, K comparable](items []T, size int, key func(T) K) ([]T, K) {
	var next K
	if len(items) > size {
		items = items[:size]
		next = key(items[size-1])
	}
	return items, next
}

// AllPages reads a whole list through read, size items at a time: read
// returns up to limit items after the key after (the zero key first).
func AllPages[T any, K comparable](size int, key func(T) K, read func(after K, limit int) ([]T, error)) ([]T, error) {
	var all []T
	var after K
	for {
		page, err := read(after, size)
		if err != nil {
			return all, err
		}
		all = append(all, page...)
		if len(page) < size {
			return all, nil
		}
		after = key(page[len(page)-1])
	}
}
