-- code-evolver for Neovim (0.11+): starts `code-evolver lsp` for Python buffers and adds
-- :Evolve, :EvolveOptimize, :EvolveTests, :EvolveCancel, :EvolveStatus, :EvolveReport.
-- Everything else (code actions, diagnostics, hover, code lens) comes from the server.

local M = {}

M.defaults = {
  -- The server command; `code-evolver` must be on PATH, or give the full path.
  cmd = { "code-evolver", "lsp" },
  filetypes = { "python" },
  root_markers = { ".code-evolver.yaml", "pyproject.toml", "setup.py", ".git" },
  -- Settings in the config file's shape (backends, roles, editor, ...): sent as
  -- initializationOptions and on :EvolveSettings.
  settings = {},
  -- Show the server's progress ($/progress) in the message area.
  show_progress = true,
  -- Refresh code lenses ("N/N tests pass · 1.8× faster") when a buffer is entered or saved.
  codelens = true,
}

M.config = vim.deepcopy(M.defaults)

local NAME = "code_evolver"

--- The code-evolver client attached to `bufnr` (the current buffer by default).
function M.client(bufnr)
  return vim.lsp.get_clients({ name = NAME, bufnr = bufnr or 0 })[1]
end

local function notify(msg, level)
  vim.notify("code-evolver: " .. msg, level or vim.log.levels.INFO)
end

--- Runs a server command; `on_result(result)` gets its result.
local function exec(command, argument, on_result)
  local client = M.client()
  if not client then
    notify("the language server is not attached to this buffer", vim.log.levels.ERROR)
    return
  end
  local params = { command = command, arguments = { argument } }
  client:request("workspace/executeCommand", params, function(err, result)
    if err then
      if err.code ~= -32800 then -- cancelled: the server already said so
        notify(err.message, vim.log.levels.ERROR)
      end
      return
    end
    if on_result then
      on_result(result)
    end
  end, 0)
end

--- The cursor (or the given line range) as an LSP range in the client's position encoding.
local function current_range(opts)
  local client = M.client()
  local encoding = client and client.offset_encoding or "utf-16"
  if opts and opts.range and opts.range > 0 then
    local last = vim.api.nvim_buf_get_lines(0, opts.line2 - 1, opts.line2, false)[1] or ""
    return vim.lsp.util.make_given_range_params({ opts.line1, 0 }, { opts.line2, #last }, 0, encoding).range
  end
  return vim.lsp.util.make_range_params(0, encoding).range
end

local function uri()
  return vim.uri_from_bufnr(0)
end

-- Long commands (evolve, optimize, write tests) answer at once with their job's token; the job
-- runs on in the server and ends with `codeEvolver/jobDone`.
local function say_started(result)
  if result and result.title then
    notify(result.title .. " started (:EvolveCancel stops it)")
  end
end

--- The end of every long job this session, newest last: { token, title, ok, cancelled, message, result }.
M.finished_jobs = {}

local function on_job_done(_, params)
  if not params then
    return
  end
  table.insert(M.finished_jobs, params)
  -- Failures and cancels were already shown by the server (window/showMessage).
  if params.ok then
    notify(params.message or (params.title .. ": done"))
  end
end

--- The function under the cursor, for optimize and write-tests.
local function at_cursor()
  return { uri = uri(), line = vim.api.nvim_win_get_cursor(0)[1] - 1 }
end

function M.evolve(opts)
  exec("codeEvolver.evolve", { uri = uri(), range = current_range(opts) }, say_started)
end

function M.optimize()
  exec("codeEvolver.optimize", at_cursor(), say_started)
end

function M.write_tests()
  exec("codeEvolver.writeTests", at_cursor(), say_started)
end

function M.cancel()
  exec("codeEvolver.cancel", {}, function(result)
    local n = result and result.cancelled and #result.cancelled or 0
    notify(n == 0 and "nothing is running" or ("cancelled " .. n .. " job(s)"))
  end)
end

local function show_markdown(title, markdown)
  local lines = vim.split(markdown, "\n")
  vim.cmd("new")
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_name(buf, title)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].filetype = "markdown"
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].modifiable = false
end

function M.status()
  exec("codeEvolver.status", {}, function(result)
    local lines = { "# code-evolver " .. (result.version or ""), "", "data: " .. tostring(result.data_dir), "" }
    for _, r in ipairs(result.roles or {}) do
      table.insert(lines, string.format("- %s: %s @ %s (%s)", r.role, r.model, r.backend, r.kind))
    end
    table.insert(lines, "")
    table.insert(lines, "nodes in the registry: " .. tostring(result.registry and result.registry.nodes))
    table.insert(lines, "running jobs: " .. tostring(#(result.jobs or {})))
    show_markdown("code-evolver://status", table.concat(lines, "\n"))
  end)
end

function M.report()
  exec("codeEvolver.showReport", {}, function(result)
    show_markdown("code-evolver://report", result.markdown or vim.inspect(result))
  end)
end

local function on_progress(ev)
  local client = vim.lsp.get_client_by_id(ev.data.client_id)
  if not client or client.name ~= NAME then
    return
  end
  local value = ev.data.params.value
  local text = value.title or value.message or ""
  if value.message and value.title then
    text = value.title .. ": " .. value.message
  end
  if value.kind == "end" then
    text = "done — " .. (value.message or "")
  end
  local pct = value.percentage and (value.percentage .. "% ") or ""
  vim.api.nvim_echo({ { "code-evolver " .. pct .. text } }, false, {})
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local cfg = M.config
  local settings = vim.tbl_isempty(cfg.settings) and vim.empty_dict() or cfg.settings
  local server = {
    cmd = cfg.cmd,
    filetypes = cfg.filetypes,
    root_markers = cfg.root_markers,
    init_options = settings,
    settings = { codeEvolver = settings },
    handlers = { ["codeEvolver/jobDone"] = on_job_done },
  }
  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.config(NAME, server)
    vim.lsp.enable(NAME)
  else
    -- Before 0.11: start per buffer.
    vim.api.nvim_create_autocmd("FileType", {
      pattern = cfg.filetypes,
      callback = function(args)
        local root = vim.fs.root(args.buf, cfg.root_markers) or vim.fn.getcwd()
        vim.lsp.start(vim.tbl_extend("force", server, { name = NAME, root_dir = root }), { bufnr = args.buf })
      end,
    })
  end

  local group = vim.api.nvim_create_augroup("code_evolver", { clear = true })
  if cfg.show_progress then
    vim.api.nvim_create_autocmd("LspProgress", { group = group, callback = on_progress })
  end
  if cfg.codelens then
    vim.api.nvim_create_autocmd({ "LspAttach", "BufEnter", "BufWritePost" }, {
      group = group,
      callback = function(args)
        if M.client(args.buf) then
          vim.lsp.codelens.refresh({ bufnr = args.buf })
        end
      end,
    })
  end

  local command = vim.api.nvim_create_user_command
  command("Evolve", M.evolve, { range = true, desc = "code-evolver: evolve the task comment or selection" })
  command("EvolveOptimize", M.optimize, { desc = "code-evolver: optimize the function under the cursor" })
  command("EvolveTests", M.write_tests, { desc = "code-evolver: write tests for the function under the cursor" })
  command("EvolveCancel", M.cancel, { desc = "code-evolver: cancel running evolves" })
  command("EvolveStatus", M.status, { desc = "code-evolver: backends, models, registry" })
  command("EvolveReport", M.report, { desc = "code-evolver: the last evolve's report" })
end

return M
