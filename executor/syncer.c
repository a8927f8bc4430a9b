#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/staging.h"
#include "executor/internal.h"

static int sync_one(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	if (fd < 0)
		return errno;
	if (fdatasync(fd) < 0)
		r = errno;
	close(fd);
	return r;
}

int sync_paths(int fd, const struct strvec *files)
{
	int r = 0;

	if (files->nr > SYNC_FILES_MAX)
		return syncfs(fd) < 0 ? errno : 0;
	for (size_t i = 0; i < files->nr && !r; i++)
		r = sync_one(files->v[i]);
	return r;
}

static void *syncer_main(void *arg)
{
	struct syncer *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->requested && !s->trash.nr && !s->quit)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->requested) {
			struct strvec files = s->files;
			int r;

			s->requested = 0;
			strvec_init(&s->files);
			pthread_mutex_unlock(&s->lock);
			r = sync_paths(s->fd, &files);
			strvec_clear(&files);
			pthread_mutex_lock(&s->lock);
			s->result = r;
			pthread_mutex_unlock(&s->lock);
			while (write(s->done[1], "s", 1) < 0 && errno == EINTR)
				;
			pthread_mutex_lock(&s->lock);
		} else if (s->trash.nr) {
			char *path = (char *)s->trash.v[--s->trash.nr];

			s->trash.v[s->trash.nr] = NULL;
			pthread_mutex_unlock(&s->lock);
			store_staging_retire(path);
			free(path);
			pthread_mutex_lock(&s->lock);
		} else {
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int syncer_start(struct syncer *s, int fd, int thread)
{
	s->fd = fd;
	s->running = 0;
	s->requested = s->quit = s->result = 0;
	s->done[0] = s->done[1] = -1;
	strvec_init(&s->trash);
	strvec_init(&s->files);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (!thread)
		return 0;
	if (pipe2(s->done, O_CLOEXEC) < 0)
		return -1;
	if (pthread_create(&s->thread, NULL, syncer_main, s)) {
		close(s->done[0]);
		close(s->done[1]);
		s->done[0] = s->done[1] = -1;
		return -1;
	}
	s->running = 1;
	return 0;
}

static void strvec_move(struct strvec *dst, struct strvec *src)
{
	for (size_t i = 0; i < src->nr; i++)
		strvec_push_nodup(dst, (char *)src->v[i]);
	if (src->v != strvec_empty)
		free((void *)src->v);
	strvec_init(src);
}

void syncer_request(struct syncer *s, struct strvec *files)
{
	pthread_mutex_lock(&s->lock);
	strvec_move(&s->files, files);
	s->requested = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int syncer_collect(struct syncer *s)
{
	char c;
	int r;

	while (read(s->done[0], &c, 1) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&s->lock);
	r = s->result;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void syncer_trash(struct syncer *s, char *path)
{
	if (!s->running) {
		store_staging_retire(path);
		free(path);
		return;
	}
	pthread_mutex_lock(&s->lock);
	strvec_push_nodup(&s->trash, path);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void syncer_stop(struct syncer *s)
{
	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->quit = 1;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
	for (size_t i = 0; i < s->trash.nr; i++)
		store_staging_retire(s->trash.v[i]);
	strvec_clear(&s->trash);
	strvec_clear(&s->files);
	if (s->done[0] >= 0)
		close(s->done[0]);
	if (s->done[1] >= 0)
		close(s->done[1]);
	s->done[0] = s->done[1] = -1;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}
