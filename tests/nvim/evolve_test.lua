-- Headless Neovim end to end: loads editors/nvim, opens a Python file holding
-- `# evolve: add two numbers`, applies the code action through vim.lsp.buf.code_action, waits for
-- the edit, and checks that the buffer now holds a function that passes the spec's cases.
-- Run by tests/nvim.rs: nvim --headless --clean -u tests/nvim/evolve_test.lua
-- Environment: CE_TEST_REPO (the checkout), CE_TEST_FILE, CODE_EVOLVER_PYTHON.
-- The exit code is the verdict (0 pass, 1 fail); the reason goes to stderr.

local repo = assert(os.getenv("CE_TEST_REPO"), "CE_TEST_REPO is not set")
local file = assert(os.getenv("CE_TEST_FILE"), "CE_TEST_FILE is not set")
local python = assert(os.getenv("CODE_EVOLVER_PYTHON"), "CODE_EVOLVER_PYTHON is not set")

vim.opt.runtimepath:prepend(repo .. "/editors/nvim")
vim.cmd("filetype on")
vim.opt.swapfile = false

local progress = {}
vim.api.nvim_create_autocmd("LspProgress", {
  callback = function(ev)
    local v = ev.data.params.value
    table.insert(progress, (v.kind or "") .. ":" .. (v.message or v.title or ""))
  end,
})

require("code_evolver").setup({})

local function fail(message)
  io.stderr:write("FAIL: " .. message .. "\n")
  io.stderr:write("progress seen: " .. table.concat(progress, " | ") .. "\n")
  io.stderr:write("buffer:\n" .. table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n") .. "\n")
  vim.cmd("cquit 1")
end

local function buffer_text()
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  if vim.bo.filetype ~= "python" then
    return fail("filetype is '" .. vim.bo.filetype .. "', not python")
  end
  local attached = vim.wait(30000, function()
    return require("code_evolver").client(0) ~= nil
  end, 50)
  if not attached then
    return fail("the code-evolver server did not attach (is `code-evolver` on PATH?)")
  end
  vim.api.nvim_win_set_cursor(0, { 1, 3 })
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.title == "Evolve: add two numbers"
    end,
  })
  local failed = nil
  local arrived = vim.wait(180000, function()
    for _, p in ipairs(progress) do
      if p:find("^end:failed") then
        failed = p
        return true
      end
    end
    return buffer_text():find("def add", 1, true) ~= nil
  end, 100)
  if failed then
    return fail("the evolve failed: " .. failed)
  end
  if not arrived then
    return fail("no code arrived in the buffer within 180 s")
  end
  local text = buffer_text()
  if not text:find("# evolve: add two numbers\n# evolved: add%-") then
    return fail("the code is not right below the task comment with its header")
  end
  local ended = vim.wait(10000, function()
    for _, p in ipairs(progress) do
      if p:find("^end:") then
        return true
      end
    end
    return false
  end, 50)
  if not ended then
    return fail("the progress never ended")
  end
  -- The job's end reaches the plugin as `codeEvolver/jobDone`.
  local done = vim.wait(10000, function()
    return #require("code_evolver").finished_jobs > 0
  end, 50)
  if not done then
    return fail("no codeEvolver/jobDone notification reached the plugin")
  end
  local job = require("code_evolver").finished_jobs[1]
  if not job.ok or not (job.result and job.result.node_id or ""):find("^add%-") then
    return fail("the job's end does not name the verified node: " .. vim.inspect(job))
  end
  vim.cmd("write")
  local dir = vim.fn.fnamemodify(file, ":h")
  local module = vim.fn.fnamemodify(file, ":t:r")
  local check = string.format(
    "import sys; sys.path.insert(0, %q); import %s as m; "
      .. "assert m.add(10, 20) == 30 and m.add(-5, 3) == -2 and m.add(0, 0) == 0, 'wrong sums'",
    dir,
    module
  )
  local out = vim.fn.system({ python, "-c", check })
  if vim.v.shell_error ~= 0 then
    return fail("the evolved function does not pass its cases: " .. out)
  end
  io.stdout:write("PASS: the buffer holds a tested add()\n")
  vim.cmd("qall!")
end

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = pcall(run)
      if not ok then
        fail(tostring(err))
      end
    end)
  end,
})
