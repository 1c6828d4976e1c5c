package domain_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/coprod/coprod/domain"
)

func TestPageSize(t *testing.T) {
	for _, c := range []struct{ limit, want int }{{0, 50}, {1, 1}, {200, 200}} {
		if got, err := domain.PageSize(c.limit, 50, 200); err != nil || got != c.want {
			t.Errorf("PageSize(%d) = %d, %v; want %d", c.limit, got, err, c.want)
		}
	}
	for _, limit := range []int{-1, 201} {
		_, err := domain.PageSize(limit, 50, 200)
		var e *domain.Error
		if !errors.As(err, &e) || e.Code != "invalid_page_size" || e.Field != "limit" || e.Message != "page size must be between 1 and 200" {
			t.Errorf("PageSize(%d): %#v", limit, err)
		}
	}
}

func TestCutPage(t *testing.T) {
	id := func(i int) int { return i * 10 }
	if items, next := domain.CutPage([]int{1, 2, 3}, 2, id); !slices.Equal(items, []int{1, 2}) || next != 20 {
		t.Errorf("a full page with more after: %v, next %d", items, next)
	}
	if items, next := domain.CutPage([]int{1, 2}, 2, id); !slices.Equal(items, []int{1, 2}) || next != 0 {
		t.Errorf("the last page: %v, next %d", items, next)
	}
}

func TestAllPages(t *testing.T) {
	list := []int{1, 2, 3, 4, 5}
	reads := 0
	got, err := domain.AllPages(2, func(i int) int { return i }, func(after, limit int) ([]int, error) {
		reads++
		i, _ := slices.BinarySearch(list, after+1)
		return list[i:min(i+limit, len(list))], nil
	})
	if err != nil || !slices.Equal(got, list) || reads != 3 {
		t.Errorf("AllPages: %v in %d reads, %v; want all five in 3", got, reads, err)
	}
}
